//! One module per route family.

pub(crate) mod call;
pub(crate) mod file;
pub(crate) mod info;
pub(crate) mod upload;
