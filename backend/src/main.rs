fn main() -> std::process::ExitCode {
    scf_backend::cli::run()
}
