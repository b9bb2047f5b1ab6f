//! Interop tests of `gradio-compat` with the Rust `gradio` client crate live in `tests/`.
//! This crate has no code of its own.
