//! The `hoanhap` command: parse the command line, hand over to the library.

fn main() -> std::process::ExitCode {
    hoanhap::cli::main()
}
