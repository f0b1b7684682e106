//! `coder-step`: the runner CI calls for jobs, agent and deploy steps, approval gates and
//! publishing. Its command line is a contract with every generated CI file (`coder::cli::step`).

fn main() -> std::process::ExitCode {
    coder::cli::step::main_step()
}
