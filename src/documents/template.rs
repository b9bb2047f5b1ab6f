//! Documents computed once at build that still need the request's root URL: the bytes are
//! split around a placeholder, and the few distinct roots seen are cached.

use bytes::{Bytes, BytesMut};
use dashmap::DashMap;

/// Stands for the root URL while a document is built. Plain ASCII, so JSON leaves it as is.
pub(crate) const ROOT: &str = "__gradio_compat_root_url__";

/// How many distinct roots are cached; past this, documents are rendered per request.
const CACHE: usize = 16;

/// A document with holes where the root URL goes.
pub(crate) struct Template {
    parts: Vec<Bytes>,
    cache: DashMap<String, Bytes>,
}

impl Template {
    pub(crate) fn new(document: Vec<u8>) -> Self {
        let document = Bytes::from(document);
        let needle = ROOT.as_bytes();
        let mut parts = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i + needle.len() <= document.len() {
            if &document[i..i + needle.len()] == needle {
                parts.push(document.slice(start..i));
                i += needle.len();
                start = i;
            } else {
                i += 1;
            }
        }
        parts.push(document.slice(start..));
        Self {
            parts,
            cache: DashMap::new(),
        }
    }

    /// The document for this root (already JSON-safe: see `root_url`).
    pub(crate) fn render(&self, root: &str) -> Bytes {
        if self.parts.len() == 1 {
            return self.parts[0].clone();
        }
        if let Some(hit) = self.cache.get(root) {
            return hit.clone();
        }
        let len =
            self.parts.iter().map(Bytes::len).sum::<usize>() + root.len() * (self.parts.len() - 1);
        let mut out = BytesMut::with_capacity(len);
        for (i, part) in self.parts.iter().enumerate() {
            if i > 0 {
                out.extend_from_slice(root.as_bytes());
            }
            out.extend_from_slice(part);
        }
        let out = out.freeze();
        if self.cache.len() < CACHE {
            self.cache.insert(root.to_owned(), out.clone());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_every_hole() {
        let t = Template::new(format!("a{ROOT}b{ROOT}").into_bytes());
        assert_eq!(&t.render("X")[..], b"aXbX");
        assert_eq!(&t.render("YY")[..], b"aYYbYY");
        assert_eq!(&Template::new(b"plain".to_vec()).render("X")[..], b"plain");
    }
}
