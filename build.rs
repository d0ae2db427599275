//! Migrations, messages and templates are embedded at compile time; rebuild when they change.
fn main() {
    for dir in ["migrations", "locales", "templates", "policies", "seed"] {
        println!("cargo:rerun-if-changed={dir}");
    }
}
