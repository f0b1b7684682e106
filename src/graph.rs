//! `coder graph`: a workflow as a diagram, drawn from the IR's job cut so that the picture
//! is what CI runs: its triggers, each job with its steps, the approval points between jobs
//! and the environment a deploy job runs in. Mermaid (rendered by GitHub and GitLab
//! markdown) and Graphviz DOT.

use crate::ir::{Action, Artifact, Job, Step, Trigger, Workflow};

/// A trigger, for a node's label.
fn trigger_label(trigger: &Trigger) -> String {
    match trigger {
        Trigger::Manual { .. } => "manual".to_string(),
        Trigger::Cron { cron, timezone, .. } => format!("cron {cron} ({timezone})"),
        Trigger::RepoEvent { event, action, .. } => match action {
            Some(action) => format!("{event}.{action}"),
            None => event.clone(),
        },
        Trigger::Webhook { name, .. } => format!("webhook {name}"),
    }
}

/// A step, for a node's label: its id, kind and what it does.
fn step_label(step: &Step) -> String {
    let what = match &step.action {
        Action::Agent {
            role, read_only, ..
        } => format!(
            "{} agent{}",
            role.as_str(),
            if *read_only { " (read-only)" } else { "" }
        ),
        Action::Command { command } => {
            let first = command.lines().next().unwrap_or("");
            let more = if command.lines().count() > 1 {
                " …"
            } else {
                ""
            };
            format!("$ {first}{more}")
        }
        Action::Deploy { target } => format!("deploy to {target}"),
        Action::Approve { reason } => match reason {
            Some(reason) => format!("approve: {reason}"),
            None => "approve".to_string(),
        },
    };
    let mut label = match &step.name {
        Some(name) => format!("{}: {name}\n{what}", step.step_id),
        None => format!("{}: {what}", step.step_id),
    };
    if step.continue_on_failure {
        label.push_str("\ncontinues on failure");
    }
    if let Some(failed) = &step.if_failed {
        label.push_str(&format!("\nonly if {failed} failed"));
    }
    label
}

fn job_label(job: &Job) -> String {
    match &job.environment {
        Some(environment) => format!("{} (environment {environment})", job.id),
        None => job.id.clone(),
    }
}

fn approval_label(job: &Job) -> Option<String> {
    job.approval
        .as_ref()
        .map(|a| format!("approval before {}: {}", a.step_id, a.reason))
}

/// Whether the run's patch becomes a pull request (or a review comment) at the end.
fn publishes(workflow: &Workflow) -> bool {
    workflow.artifacts.contains(&Artifact::PrLink)
}

/// Mermaid's label text: inside `"…"`, quotes and markup characters as entity codes, one
/// line per `<br>`.
fn mermaid_text(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("#quot;"),
            '#' => out.push_str("#35;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '`' => out.push_str("#96;"),
            '\n' => out.push_str("<br>"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Mermaid flowchart of `workflow`.
pub fn mermaid(workflow: &Workflow) -> String {
    let mut out = String::from("flowchart TD\n");
    for (n, trigger) in workflow.triggers.iter().enumerate() {
        out.push_str(&format!(
            "  t{n}([\"{}\"])\n",
            mermaid_text(&trigger_label(trigger))
        ));
    }
    for (j, job) in workflow.jobs.iter().enumerate() {
        if let Some(label) = approval_label(job) {
            out.push_str(&format!("  g{j}{{{{\"{}\"}}}}\n", mermaid_text(&label)));
        }
        out.push_str(&format!(
            "  subgraph j{j}[\"{}\"]\n    direction TB\n",
            mermaid_text(&job_label(job))
        ));
        for (s, step) in job.steps.iter().enumerate() {
            out.push_str(&format!(
                "    j{j}s{s}[\"{}\"]\n",
                mermaid_text(&step_label(step))
            ));
        }
        for s in 1..job.steps.len() {
            out.push_str(&format!("    j{j}s{} --> j{j}s{s}\n", s - 1));
        }
        out.push_str("  end\n");
    }
    if publishes(workflow) {
        out.push_str("  publish([\"publish: pull request or review comment\"])\n");
    }
    if let Some(first) = workflow.jobs.first() {
        let into = if first.approval.is_some() { "g0" } else { "j0" };
        for n in 0..workflow.triggers.len() {
            out.push_str(&format!("  t{n} --> {into}\n"));
        }
        if first.approval.is_some() {
            out.push_str("  g0 --> j0\n");
        }
    }
    for (j, job) in workflow.jobs.iter().enumerate().skip(1) {
        match job.approval {
            Some(_) => out.push_str(&format!("  j{} --> g{j} --> j{j}\n", j - 1)),
            None => out.push_str(&format!("  j{} --> j{j}\n", j - 1)),
        }
    }
    if publishes(workflow) && !workflow.jobs.is_empty() {
        out.push_str(&format!("  j{} --> publish\n", workflow.jobs.len() - 1));
    }
    out
}

/// A DOT string literal's content.
fn dot_text(text: &str) -> String {
    let mut out = String::new();
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// A Graphviz DOT digraph of `workflow`: one cluster per job.
pub fn dot(workflow: &Workflow) -> String {
    let mut out = format!(
        "digraph \"{}\" {{\n  label=\"{}\";\n  labelloc=t;\n  compound=true;\n  rankdir=TB;\n  node [shape=box, fontname=\"Helvetica\"];\n",
        dot_text(&workflow.workflow_id),
        dot_text(&workflow.name)
    );
    for (n, trigger) in workflow.triggers.iter().enumerate() {
        out.push_str(&format!(
            "  t{n} [label=\"{}\", shape=oval];\n",
            dot_text(&trigger_label(trigger))
        ));
    }
    for (j, job) in workflow.jobs.iter().enumerate() {
        if let Some(label) = approval_label(job) {
            out.push_str(&format!(
                "  g{j} [label=\"{}\", shape=diamond];\n",
                dot_text(&label)
            ));
        }
        out.push_str(&format!(
            "  subgraph cluster_j{j} {{\n    label=\"{}\";\n",
            dot_text(&job_label(job))
        ));
        if job.environment.is_some() {
            out.push_str("    style=dashed;\n");
        }
        for (s, step) in job.steps.iter().enumerate() {
            out.push_str(&format!(
                "    j{j}s{s} [label=\"{}\"];\n",
                dot_text(&step_label(step))
            ));
        }
        for s in 1..job.steps.len() {
            out.push_str(&format!("    j{j}s{} -> j{j}s{s};\n", s - 1));
        }
        out.push_str("  }\n");
    }
    // Edges between jobs run from the last step of one to the first of the next (through
    // its approval point), drawn to and from the clusters.
    let first = |j: usize| format!("j{j}s0");
    let last = |j: usize| format!("j{j}s{}", workflow.jobs[j].steps.len().saturating_sub(1));
    let edge = |from: &str, tail: Option<usize>, j: usize, out: &mut String| {
        let tail = tail.map(|t| format!("ltail=cluster_j{t}"));
        if workflow.jobs[j].approval.is_some() {
            let attributes = tail.map(|t| format!(" [{t}]")).unwrap_or_default();
            out.push_str(&format!("  {from} -> g{j}{attributes};\n"));
        } else {
            let attributes: Vec<String> = tail
                .into_iter()
                .chain([format!("lhead=cluster_j{j}")])
                .collect();
            out.push_str(&format!(
                "  {from} -> {} [{}];\n",
                first(j),
                attributes.join(", ")
            ));
        }
    };
    if !workflow.jobs.is_empty() {
        for n in 0..workflow.triggers.len() {
            edge(&format!("t{n}"), None, 0, &mut out);
        }
    }
    for j in 1..workflow.jobs.len() {
        edge(&last(j - 1), Some(j - 1), j, &mut out);
    }
    for (j, job) in workflow.jobs.iter().enumerate() {
        if job.approval.is_some() {
            out.push_str(&format!("  g{j} -> {} [lhead=cluster_j{j}];\n", first(j)));
        }
    }
    if publishes(workflow) && !workflow.jobs.is_empty() {
        let j = workflow.jobs.len() - 1;
        out.push_str(&format!(
            "  publish [label=\"publish: pull request or review comment\", shape=oval];\n  {} -> publish [ltail=cluster_j{j}];\n",
            last(j)
        ));
    }
    out.push_str("}\n");
    out
}
