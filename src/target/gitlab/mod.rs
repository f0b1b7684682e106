//! GitLab CI: the IR as a pipeline file the user's root `.gitlab-ci.yml` includes. Rust
//! decides everything; serde-saphyr lays the typed model out as YAML, which quotes whatever a
//! spec string needs quoting.
//!
//! Several workflows share one pipeline, so an included file carries no `workflow:` key (it
//! would replace the user's) and no `default:`; every job is prefixed with its workflow id and
//! selects itself with `rules` on `$CI_PIPELINE_SOURCE` and `$CODER_WORKFLOW`.

use indexmap::IndexMap;
use serde::Serialize;

use super::GeneratedFile;
use super::github::{publish_job_id, publishes};
use super::install;
use super::output::header;
use crate::ir::{Action, Job, Trigger, Workflow};
use crate::protocol::{self, CiOutput, EXIT_FAILED, Invocation, env, shell_quote};
use crate::workspace::config::{GitlabConfig, ReportConfig};

/// Where a workflow's pipeline file lives; the root file includes every one of them.
pub fn pipeline_path(workflow_id: &str) -> String {
    format!("{PIPELINE_DIR}/{workflow_id}.yml")
}

/// Where a workflow's schedule manifest lives: a folder below the pipelines, so that the
/// root's `*.yml` include (which does not cross `/`) never takes it for a pipeline.
pub fn schedules_path(workflow_id: &str) -> String {
    format!("{PIPELINE_DIR}/schedules/{workflow_id}.yml")
}

const PIPELINE_DIR: &str = ".gitlab/coder";

/// The user's pipeline, created when missing and never overwritten: it is theirs.
pub const ROOT_PIPELINE: &str = ".gitlab-ci.yml";

/// What the root pipeline includes: every coder pipeline, present and future.
pub const ROOT_INCLUDE: &str = ".gitlab/coder/*.yml";

/// The variable manual, scheduled and triggered pipelines name the workflow to run with.
pub const WORKFLOW_VARIABLE: &str = "CODER_WORKFLOW";

/// Between jobs the run directory travels as an artifact, which GitLab takes only from inside
/// the project folder. While a job runs it lives outside the checkout (`CODER_RUN_DIR`), so
/// agents neither see it nor find it in the patch: under `/tmp`, which every executor has
/// (`$CI_BUILDS_DIR` is not always outside the checkout), one per job.
const ARTIFACT_DIR: &str = ".coder-run";
const RUN_DIR: &str = "/tmp/coder-run-$CI_JOB_ID";
/// Jobs without `stage:` land in `test`; named, so a user's `stages:` list shows what it
/// must keep.
const STAGE: &str = "test";
/// How long the publish job may take (a push and an API call).
const PUBLISH_TIMEOUT_MINUTES: i64 = 10;
/// How long GitLab keeps a job's run directory.
const ARTIFACT_EXPIRY: &str = "30 days";
/// The dotenv file a deploy job's runner writes the deploy URL to, inside the run directory
/// (so it leaves the checkout with it and comes back as part of the artifact).
const DOTENV_FILE: &str = "deploy.env";

#[derive(Serialize)]
struct GlJob {
    stage: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    needs: Vec<String>,
    rules: Vec<Rule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    allow_failure: Option<bool>,
    timeout: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    environment: Option<Environment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_group: Option<String>,
    variables: IndexMap<&'static str, String>,
    before_script: Vec<String>,
    script: Vec<String>,
    after_script: Vec<String>,
    artifacts: Artifacts,
}

#[derive(Serialize)]
struct Rule {
    #[serde(rename = "if", skip_serializing_if = "Option::is_none")]
    condition: Option<String>,
    when: &'static str,
}

#[derive(Serialize)]
struct Environment {
    name: String,
    /// The deploy URL, from the job's dotenv report (GitLab expands it after the job).
    url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    deployment_tier: Option<&'static str>,
}

#[derive(Serialize)]
struct Artifacts {
    name: String,
    paths: Vec<&'static str>,
    /// A failed job's run directory is what explains the failure.
    when: &'static str,
    expire_in: &'static str,
    #[serde(skip_serializing_if = "Reports::is_empty")]
    reports: Reports,
}

#[derive(Default, Serialize)]
struct Reports {
    /// The variables the runner published (the deploy URL), for `environment: url`.
    #[serde(skip_serializing_if = "Option::is_none")]
    dotenv: Option<String>,
    /// The JUnit files `[report] junit` names, for the merge request's test widget.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    junit: Vec<String>,
}

impl Reports {
    fn is_empty(&self) -> bool {
        self.dotenv.is_none() && self.junit.is_empty()
    }
}

/// The files of one workflow: its pipeline, and the manifest of its schedules (when it has
/// any).
pub fn emit_files(
    workflow: &Workflow,
    config: &GitlabConfig,
    report: &ReportConfig,
) -> Vec<GeneratedFile> {
    let mut files = vec![GeneratedFile {
        path: pipeline_path(&workflow.workflow_id),
        contents: emit_with(workflow, config, report),
    }];
    let schedules = schedules(workflow);
    if !schedules.is_empty() {
        files.push(GeneratedFile {
            path: schedules_path(&workflow.workflow_id),
            contents: schedules_manifest(workflow, &schedules),
        });
    }
    files
}

/// The pipeline file for `workflow` with the default runner host.
pub fn emit(workflow: &Workflow) -> String {
    emit_with(workflow, &GitlabConfig::default(), &ReportConfig::default())
}

/// The pipeline file for `workflow`, header included.
pub fn emit_with(workflow: &Workflow, config: &GitlabConfig, report: &ReportConfig) -> String {
    let emitter = Emitter {
        workflow,
        config,
        report,
    };
    let rules = pipeline_conditions(workflow);
    let mut jobs: IndexMap<String, GlJob> = workflow
        .jobs
        .iter()
        .enumerate()
        .map(|(index, job)| {
            let previous = index.checked_sub(1).map(|i| workflow.jobs[i].id.clone());
            (job.id.clone(), emitter.job(job, previous, &rules))
        })
        .collect();
    if let (Some(_), Some(last)) = (publishes(workflow), workflow.jobs.last()) {
        jobs.insert(
            publish_job_id(workflow),
            emitter.publish_job(&last.id, &rules),
        );
    }
    let body = serde_saphyr::to_string(&jobs).unwrap_or_default();
    format!(
        "{}# Included by the root .gitlab-ci.yml (`include: - local: {ROOT_INCLUDE}`). Its jobs run only\n\
         # in the pipelines their `rules` name; see the README's \"GitLab CI\" section.\n\
         {body}",
        header(&workflow.source, &workflow.source_hash)
    )
}

/// The `rules: if:` conditions that start this workflow, one per way GitLab starts a
/// pipeline, each once. Triggers GitLab cannot express were reported by `target::check`
/// and are left out.
fn pipeline_conditions(workflow: &Workflow) -> Vec<String> {
    let id = &workflow.workflow_id;
    // Workflow ids are `[A-Za-z0-9][A-Za-z0-9_-]*`: safe inside a quoted rules string.
    let named = |source: &str| {
        format!("$CI_PIPELINE_SOURCE == \"{source}\" && ${WORKFLOW_VARIABLE} == \"{id}\"")
    };
    let mut conditions: Vec<String> = Vec::new();
    for trigger in &workflow.triggers {
        let added = match trigger {
            Trigger::Manual { .. } => vec![named("web"), named("api")],
            Trigger::Cron { .. } => vec![named("schedule")],
            Trigger::Webhook { .. } => vec![named("trigger")],
            Trigger::RepoEvent { event, action, .. } => {
                match repo_event_support(event, action.as_deref()) {
                    EventSupport::Exact(source) | EventSupport::Approximate(source, _) => {
                        vec![format!("$CI_PIPELINE_SOURCE == \"{source}\"")]
                    }
                    EventSupport::Unsupported => Vec::new(),
                }
            }
        };
        for condition in added {
            if !conditions.contains(&condition) {
                conditions.push(condition);
            }
        }
    }
    conditions
}

/// How GitLab can start a pipeline on a spec's repository event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventSupport {
    /// This pipeline source is the event.
    Exact(&'static str),
    /// This pipeline source starts on the event and on others (the reason, for a warning).
    Approximate(&'static str, &'static str),
    /// No pipeline source for it.
    Unsupported,
}

/// `push` is a push pipeline; a pull request's opening or new commits are a merge request
/// pipeline, which GitLab also starts on the other of the two. Labels, closing, merging,
/// issues and comments start no pipeline.
pub fn repo_event_support(event: &str, action: Option<&str>) -> EventSupport {
    match (event, action) {
        ("push", _) => EventSupport::Exact("push"),
        ("pull_request", Some("opened" | "reopened" | "synchronize")) => EventSupport::Approximate(
            "merge_request_event",
            "GitLab starts a merge request pipeline when a merge request is opened and on every push to it",
        ),
        ("pull_request", None) => EventSupport::Approximate(
            "merge_request_event",
            "GitLab starts merge request pipelines only when a merge request is opened and on pushes to it, not on its other events",
        ),
        _ => EventSupport::Unsupported,
    }
}

/// A pipeline schedule to create in GitLab (Build → Pipeline schedules, or the API).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Schedule {
    pub description: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
    pub cron: String,
    pub cron_timezone: String,
    pub active: bool,
    pub variables: Vec<ScheduleVariable>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ScheduleVariable {
    pub key: &'static str,
    pub value: String,
}

/// The schedules of `workflow`, one per cron trigger.
pub fn schedules(workflow: &Workflow) -> Vec<Schedule> {
    workflow
        .triggers
        .iter()
        .filter_map(|trigger| match trigger {
            Trigger::Cron { cron, timezone, .. } => Some(Schedule {
                // Unique per cron, and how `coder` finds its schedules again.
                description: format!("coder {}: {cron} ({timezone})", workflow.workflow_id),
                git_ref: workflow.project.git_ref.clone(),
                cron: cron.clone(),
                cron_timezone: timezone.clone(),
                active: true,
                variables: vec![ScheduleVariable {
                    key: WORKFLOW_VARIABLE,
                    value: workflow.workflow_id.clone(),
                }],
            }),
            _ => None,
        })
        .collect()
}

#[derive(Serialize)]
struct ScheduleManifest<'a> {
    pipeline: String,
    name: &'a str,
    schedules: &'a [Schedule],
}

/// The `glab` calls that create `schedule`: the schedule, then its variable. Every value is a
/// validated cron, IANA zone, branch or id, shell-quoted besides.
pub fn schedule_commands(schedule: &Schedule) -> [String; 2] {
    let field =
        |key: &str, value: &str| format!("--raw-field {}", shell_quote(&format!("{key}={value}")));
    let variables: Vec<String> = schedule
        .variables
        .iter()
        .flat_map(|v| [field("key", v.key), field("value", &v.value)])
        .collect();
    [
        format!(
            "id=$(glab api projects/:id/pipeline_schedules {} {} {} {} | jq .id)",
            field("description", &schedule.description),
            field("ref", &schedule.git_ref),
            field("cron", &schedule.cron),
            field("cron_timezone", &schedule.cron_timezone),
        ),
        format!(
            "glab api \"projects/:id/pipeline_schedules/$id/variables\" {}",
            variables.join(" ")
        ),
    ]
}

fn schedules_manifest(workflow: &Workflow, schedules: &[Schedule]) -> String {
    let manifest = ScheduleManifest {
        pipeline: pipeline_path(&workflow.workflow_id),
        name: &workflow.name,
        schedules,
    };
    let body = serde_saphyr::to_string(&manifest).unwrap_or_default();
    let mut commands = String::new();
    for schedule in schedules {
        for command in schedule_commands(schedule) {
            // Comment lines hold validated values only; a line break would end the comment.
            if !command.contains(['\n', '\r']) {
                commands.push_str(&format!("#   {command}\n"));
            }
        }
    }
    format!(
        "{}# The GitLab pipeline schedules this workflow runs on. GitLab keeps schedules out of the\n\
         # repository: create each once (Build → Pipeline schedules, or from a checkout with glab):\n\
         {commands}\
         # The schedule runs as its owner, and its pipelines have CI_PIPELINE_SOURCE=schedule.\n\
         {body}",
        header(&workflow.source, &workflow.source_hash)
    )
}

/// The user's root pipeline, written only when the repository has none.
pub fn root_pipeline() -> String {
    #[derive(Serialize)]
    struct Root {
        include: Vec<Include>,
    }
    #[derive(Serialize)]
    struct Include {
        local: &'static str,
    }
    let body = serde_saphyr::to_string(&Root {
        include: vec![Include {
            local: ROOT_INCLUDE,
        }],
    })
    .unwrap_or_default();
    format!(
        "# Created by `coder compile`; yours to edit: coder never changes this file again.\n\
         # It includes the pipelines coder generates, one per workflow.\n\
         {body}"
    )
}

/// The line a root pipeline needs (said when it exists and lacks it).
pub fn root_include_line() -> String {
    format!("include: [{{local: \"{ROOT_INCLUDE}\"}}]")
}

/// Whether an existing root pipeline already includes coder's pipelines.
pub fn root_includes_coder(text: &str) -> bool {
    text.contains(ROOT_INCLUDE) || text.contains(PIPELINE_DIR)
}

/// What every job's `coder-step` reads: where its run directory is, and the forge it runs on.
fn job_variables() -> IndexMap<&'static str, String> {
    IndexMap::from([
        (env::RUN_DIR, RUN_DIR.to_string()),
        (env::FORGE, protocol::Forge::Gitlab.as_str().to_string()),
    ])
}

struct Emitter<'a> {
    workflow: &'a Workflow,
    config: &'a GitlabConfig,
    report: &'a ReportConfig,
}

impl Emitter<'_> {
    fn coder_step(&self, invocation: Invocation<'_>) -> String {
        protocol::coder_step_line(self.workflow, invocation)
    }

    /// How `coder-step` gets on the `PATH` of the shell this runs in.
    fn install(&self) -> String {
        match &self.config.install {
            Some(install) => install.clone(),
            // Outside the checkout, so never in a patch; a CI/CD variable reaches the
            // snippet's release URL override as any variable does.
            None => format!(
                "{}\nexport PATH=\"{}/bin:$PATH\"",
                install::script("[gitlab] install"),
                install::ROOT
            ),
        }
    }

    /// `after_script` runs in a shell of its own: `coder-step` is on its `PATH` again. The
    /// default install is in place from `before_script` (or failed, and so did the job).
    fn install_again(&self) -> String {
        match &self.config.install {
            Some(install) => install.clone(),
            None => format!("export PATH=\"{}/bin:$PATH\"", install::ROOT),
        }
    }

    fn job(&self, job: &Job, previous: Option<String>, conditions: &[String]) -> GlJob {
        let gated = job.approval.is_some();
        // Inside `rules`, `when: manual` blocks the jobs after it until someone plays it.
        let when = if gated { "manual" } else { "on_success" };
        let mut rules: Vec<Rule> = conditions
            .iter()
            .map(|condition| Rule {
                condition: Some(condition.clone()),
                when,
            })
            .collect();
        if rules.is_empty() {
            rules.push(Rule {
                condition: None,
                when: "never",
            });
        }

        let mut script = Vec::new();
        // GitLab gives every job every CI/CD variable: the workflow's secrets that no step of
        // this job receives leave its shell first (coder-step keeps them from agents anyway).
        let received = |name: &String| job.steps.iter().any(|s| s.secrets.contains(name));
        let unreceived: Vec<&str> = self
            .workflow
            .policies
            .secrets
            .iter()
            .filter(|name| !received(name))
            .map(String::as_str)
            .collect();
        if !unreceived.is_empty() {
            // Secret names are environment-variable names (checked): plain shell words.
            script.push(format!("unset {}", unreceived.join(" ")));
        }
        script.extend([
            // A fresh run directory outside the checkout, holding the previous job's.
            format!("rm -rf \"${}\"", env::RUN_DIR),
            format!(
                "if [ -d {ARTIFACT_DIR} ]; then mv {ARTIFACT_DIR} \"${}\"; fi",
                env::RUN_DIR
            ),
            self.coder_step(Invocation::Begin { job: &job.id }),
        ]);
        if let Some(approval) = &job.approval {
            script.push(self.coder_step(Invocation::Gate {
                step: &approval.step_id,
            }));
        }
        for step in &job.steps {
            match &step.action {
                // The approval is the gate above; there is nothing else to run.
                Action::Approve { .. } => {}
                Action::Command { .. } if step.continue_on_failure => {
                    // coder-step exits 1 for a step that failed (recorded; the run goes on and
                    // ends failed); any other code is coder's own error and stops the job.
                    script.push(format!(
                        "{} || test $? -eq {EXIT_FAILED}",
                        self.coder_step(Invocation::Step {
                            step: &step.step_id,
                        })
                    ));
                }
                // coder-step decides the condition, and records the step run or skipped.
                Action::Command { .. } if step.is_conditional_command() => {
                    script.push(self.coder_step(Invocation::Step {
                        step: &step.step_id,
                    }));
                }
                Action::Command { command } => script.push(command.clone()),
                Action::Agent { .. } | Action::Deploy { .. } => {
                    script.push(self.coder_step(Invocation::Step {
                        step: &step.step_id,
                    }));
                }
            }
        }
        // In `script`, so that a run `finish` finds failed (a secret in the patch) fails the
        // job; `after_script` finishes a job whose script stopped early.
        script.push(self.coder_step(Invocation::Finish { job: &job.id }));
        // `after_script` stops at its first failing command, and the job has failed already:
        // `finish` saying so again must not keep the run directory from its artifact.
        let after_script = vec![
            self.install_again(),
            format!(
                "if [ \"$CI_JOB_STATUS\" != success ]; then {}=failure {} || true; fi",
                env::JOB_STATUS,
                self.coder_step(Invocation::Finish { job: &job.id })
            ),
            format!(
                "if [ -d \"${run_dir}\" ]; then rm -rf {ARTIFACT_DIR} && mv \"${run_dir}\" {ARTIFACT_DIR}; fi",
                run_dir = env::RUN_DIR
            ),
        ];
        let mut before_script = self.config.setup.clone();
        before_script.push(self.install());

        let environment = job.environment.as_ref().map(|target| Environment {
            name: target.clone(),
            url: format!("${}", CiOutput::DeployUrl.dotenv_name()),
            deployment_tier: match target.as_str() {
                "prod" => Some("production"),
                // Review apps are GitLab's `development` tier.
                "preview" => Some("development"),
                _ => None,
            },
        });
        let mut variables = job_variables();
        let mut reports = Reports::default();
        if job.environment.is_some() {
            variables.insert(env::DOTENV, format!("{RUN_DIR}/{DOTENV_FILE}"));
            reports.dotenv = Some(format!("{ARTIFACT_DIR}/{DOTENV_FILE}"));
        }
        // Only command steps write test reports.
        if job
            .steps
            .iter()
            .any(|step| matches!(step.action, Action::Command { .. }))
        {
            reports.junit = self.report.junit.clone();
        }
        GlJob {
            stage: STAGE,
            image: self.config.image.clone(),
            tags: self.config.tags.clone(),
            needs: previous.into_iter().collect(),
            rules,
            allow_failure: gated.then_some(false),
            timeout: format!("{} minutes", self.timeout_minutes()),
            // One deploy to a target at a time, across pipelines.
            resource_group: job
                .environment
                .as_ref()
                .map(|target| format!("coder-deploy-{target}")),
            environment,
            variables,
            before_script,
            script,
            after_script,
            artifacts: Artifacts {
                name: format!("coder-run-{}", job.id),
                paths: vec![ARTIFACT_DIR],
                when: "always",
                expire_in: ARTIFACT_EXPIRY,
                reports,
            },
        }
    }

    /// The job after the last that publishes the run: its patch as branch
    /// `coder/<workflow_id>` with push options that open or update the merge request, or a
    /// merge request pipeline's review as a note. The token is the CI/CD variable
    /// `[gitlab] token-variable` names, which GitLab gives every job already: nothing here
    /// mentions it.
    fn publish_job(&self, last_job: &str, conditions: &[String]) -> GlJob {
        let rules = if conditions.is_empty() {
            vec![Rule {
                condition: None,
                when: "never",
            }]
        } else {
            conditions
                .iter()
                .map(|condition| Rule {
                    condition: Some(condition.clone()),
                    when: "on_success",
                })
                .collect()
        };
        let mut before_script = self.config.setup.clone();
        before_script.push(self.install());
        GlJob {
            stage: STAGE,
            image: self.config.image.clone(),
            tags: self.config.tags.clone(),
            needs: vec![last_job.to_string()],
            rules,
            allow_failure: None,
            timeout: format!("{PUBLISH_TIMEOUT_MINUTES} minutes"),
            environment: None,
            resource_group: None,
            variables: job_variables(),
            before_script,
            script: vec![
                format!("rm -rf \"${}\"", env::RUN_DIR),
                format!("mv {ARTIFACT_DIR} \"${}\"", env::RUN_DIR),
                self.coder_step(Invocation::Publish),
            ],
            // The run record, with the merge request's address, for whoever looks.
            after_script: vec![format!(
                "if [ -d \"${run_dir}\" ]; then rm -rf {ARTIFACT_DIR} && mv \"${run_dir}\" {ARTIFACT_DIR}; fi",
                run_dir = env::RUN_DIR
            )],
            artifacts: Artifacts {
                name: format!("coder-run-{}", publish_job_id(self.workflow)),
                paths: vec![ARTIFACT_DIR],
                when: "always",
                expire_in: ARTIFACT_EXPIRY,
                reports: Reports::default(),
            },
        }
    }

    fn timeout_minutes(&self) -> i64 {
        (self.workflow.policies.max_wall_clock_sec + 59) / 60
    }
}

mod limits;

/// GitLab CI: a pipeline per spec under `.gitlab/coder/`, included from the root
/// `.gitlab-ci.yml`, plus the manifest of its schedules.
pub struct Gitlab;

impl super::Target for Gitlab {
    fn name(&self) -> &'static str {
        "gitlab"
    }

    fn provider(&self) -> Option<crate::model::Provider> {
        Some(crate::model::Provider::Gitlab)
    }

    fn paths(&self, workflow_id: &str) -> Vec<String> {
        vec![pipeline_path(workflow_id), schedules_path(workflow_id)]
    }

    fn limits(
        &self,
        workflow: &Workflow,
        _config: &crate::workspace::Config,
    ) -> Vec<crate::diag::Diagnostic> {
        limits::limits(workflow)
    }

    fn emit(&self, workflow: &Workflow, config: &crate::workspace::Config) -> Vec<GeneratedFile> {
        emit_files(workflow, &config.gitlab, &config.report)
    }

    /// The pipeline schedules to create before the workflow runs on its crons.
    fn notes(&self, workflow: &Workflow, _config: &crate::workspace::Config) -> String {
        let schedules = schedules(workflow);
        if schedules.is_empty() {
            return String::new();
        }
        let mut out = format!(
            "\n`{}` runs on GitLab pipeline schedules; create them once (see {}):\n",
            workflow.workflow_id,
            schedules_path(&workflow.workflow_id)
        );
        for schedule in &schedules {
            for command in schedule_commands(schedule) {
                out.push_str(&format!("  {command}\n"));
            }
        }
        out
    }

    /// GitLab runs only the root `.gitlab-ci.yml`: one that includes coder's pipelines.
    fn starter(&self) -> Option<super::StarterFile> {
        Some(super::StarterFile {
            path: ROOT_PIPELINE,
            contents: root_pipeline(),
            uses_coder: root_includes_coder,
            hint: root_include_line(),
        })
    }
}
