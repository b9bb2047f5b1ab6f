//! Files: the Gradio [`FileData`] type that file parameters and results use.
//!
//! Inside the crate this folder also holds the store of uploads and outputs (`store`),
//! serving them on `GET {prefix}/file=`, whole or by byte range (`serving`, `body`, `range`), and completing the files of a
//! result (`outputs`).

pub(crate) mod body;
pub(crate) mod data;
pub(crate) mod outputs;
pub(crate) mod range;
pub(crate) mod serving;
pub(crate) mod store;

pub(crate) use store::{delete_files, sanitize_file_name, FileStore};

pub use data::{FileData, FileMeta, FILE_DATA_TYPE};
