//! The documents built once, at build time, from the registry: `/info` (with its code
//! snippets), `/config` and the OpenAPI document. They are kept as bytes with a placeholder where each request's
//! root URL goes.

pub(crate) mod app_config;
pub(crate) mod info;
pub(crate) mod openapi;
pub(crate) mod snippets;
pub(crate) mod template;
