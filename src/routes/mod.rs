//! One module per route family.

pub(crate) mod app_config;
pub(crate) mod call;
pub(crate) mod cancel;
pub(crate) mod file;
pub(crate) mod info;
pub(crate) mod queue;
pub(crate) mod upload;
