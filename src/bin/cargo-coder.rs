fn main() -> std::process::ExitCode {
    coder::cli::main_cargo_coder()
}
