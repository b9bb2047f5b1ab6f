//! One module per route family.

pub(crate) mod call;
pub(crate) mod cancel;
pub(crate) mod documents;
pub(crate) mod mcp;
pub(crate) mod queue;
pub(crate) mod upload;
