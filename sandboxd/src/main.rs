//! sandboxd: E2B-compatible control plane (`serve`) and the in-sandbox daemon (`envd`).
fn main() {}
