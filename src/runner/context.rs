//! What every `coder-step` action works with: the checked spec's workflow, the repository's
//! configuration, the checkout and the run directory.

use std::path::PathBuf;

use super::record::RunRecord;
use super::{Failure, Redactor, agent, run_dir};
use crate::ir::{Job, Step, Workflow};
use crate::workspace::Config;

pub struct Context {
    pub workflow: Workflow,
    pub config: Config,
    /// The checkout (the repository root, the current directory in CI).
    pub checkout: PathBuf,
    pub run_dir: PathBuf,
    /// Secret values to keep out of every log and artifact.
    pub redactor: Redactor,
    /// An agent command line for this run only (`coder run --agent`), replacing the
    /// configured agent.
    pub agent_override: Option<String>,
    /// `git status` found nothing uncommitted just before the run started (`coder run`
    /// checks): the checkout's tree is HEAD's, with no need to read the working tree.
    pub clean_checkout: bool,
}

impl Context {
    pub fn new(workflow: Workflow, config: Config, checkout: PathBuf, run_dir: PathBuf) -> Self {
        // The agent's model key is a secret too.
        let mut secrets = workflow.policies.secrets.clone();
        secrets.extend(agent::credential_name(&config.agent));
        // So is the token GitLab publishing pushes with (every GitLab job has it).
        secrets.push(config.gitlab.token_variable().to_string());
        let redactor = Redactor::from_env(&secrets);
        redactor.install();
        Context {
            workflow,
            config,
            checkout,
            run_dir,
            redactor,
            agent_override: None,
            clean_checkout: false,
        }
    }

    /// Where an agent step writes its answer (`$CODER_STEP_OUTPUT`): the review a publish
    /// comments, the release engineer's notes.
    pub fn step_output_file(&self, step_id: &str) -> PathBuf {
        self.run_dir.join(run_dir::step_output(step_id))
    }

    /// The job that holds `step_id`, and the step.
    pub fn find_step(&self, step_id: &str) -> Result<(&Job, &Step), Failure> {
        self.workflow
            .jobs
            .iter()
            .find_map(|job| {
                job.steps
                    .iter()
                    .find(|s| s.step_id == step_id)
                    .map(|s| (job, s))
            })
            .ok_or_else(|| {
                let known: Vec<&str> = self
                    .workflow
                    .jobs
                    .iter()
                    .flat_map(|j| j.steps.iter().map(|s| s.step_id.as_str()))
                    .collect();
                Failure::usage(format!(
                    "workflow `{}` has no step `{step_id}`; its steps are: {}",
                    self.workflow.workflow_id,
                    known.join(", ")
                ))
            })
    }

    pub fn find_job(&self, job_id: &str) -> Result<&Job, Failure> {
        self.workflow
            .jobs
            .iter()
            .find(|j| j.id == job_id)
            .ok_or_else(|| {
                let known: Vec<&str> = self.workflow.jobs.iter().map(|j| j.id.as_str()).collect();
                Failure::usage(format!(
                    "workflow `{}` has no job `{job_id}`; its jobs are: {}",
                    self.workflow.workflow_id,
                    known.join(", ")
                ))
            })
    }

    /// The run record; an action other than `begin` needs one.
    pub fn load_run(&self) -> Result<RunRecord, Failure> {
        RunRecord::load(&self.run_dir)?.ok_or_else(|| {
            Failure::usage(format!(
                "no run in {}: `coder-step begin` starts one",
                self.run_dir.display()
            ))
        })
    }
}
