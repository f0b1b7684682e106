fn main() -> std::process::ExitCode {
    coder::cli::main_coder()
}
