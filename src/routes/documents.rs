//! `GET /config` and `GET {prefix}/info`: the documents built at build time, with the
//! request's root URL filled in.

use http::{header, Response, StatusCode};

use crate::body::{json_response, ResponseBody, NO_STORE};
use crate::documents::template::Template;

/// The document for this root URL, never cached by clients (the root depends on the request).
pub(crate) fn respond(doc: &Template, root: &str) -> Response<ResponseBody> {
    let mut response = json_response(StatusCode::OK, doc.render(root));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, NO_STORE);
    response
}

/// Whether the query asks for `all_endpoints=true`.
pub(crate) fn wants_all(query: Option<&str>) -> bool {
    query.is_some_and(|q| {
        q.split('&')
            .any(|pair| matches!(pair.split_once('='), Some(("all_endpoints", v)) if v.eq_ignore_ascii_case("true")))
    })
}
