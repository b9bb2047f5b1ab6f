//! The public root URL of the app, as a client reached it: for `/config`'s `root`, code
//! snippets and file URLs.

use http::HeaderMap;

/// The root URL for a request: the configured public URL, else `scheme://host` from
/// `X-Forwarded-Proto`/`X-Forwarded-Host` or `Host`. Hosts with characters outside
/// `A-Z a-z 0-9 . - : [ ]` are not trusted (they would end up in shell snippets and JSON), and
/// `localhost` is used instead.
pub(crate) fn request_root(headers: &HeaderMap, public_url: Option<&str>) -> String {
    if let Some(url) = public_url {
        return url.trim_end_matches('/').to_owned();
    }
    let first = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    };
    let scheme = match first("x-forwarded-proto") {
        Some(p) if p.eq_ignore_ascii_case("https") => "https",
        _ => "http",
    };
    let host = first("x-forwarded-host")
        .or_else(|| first("host"))
        .filter(|h| is_plain_host(h))
        .unwrap_or("localhost");
    format!("{scheme}://{host}")
}

fn is_plain_host(host: &str) -> bool {
    (1..=255).contains(&host.len())
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn roots() {
        assert_eq!(
            request_root(&headers(&[("host", "127.0.0.1:7860")]), None),
            "http://127.0.0.1:7860"
        );
        assert_eq!(
            request_root(
                &headers(&[
                    ("host", "internal:80"),
                    ("x-forwarded-host", "me.hf.space"),
                    ("x-forwarded-proto", "https")
                ]),
                None
            ),
            "https://me.hf.space"
        );
        assert_eq!(
            request_root(&headers(&[("host", "a$(rm -rf /)")]), None),
            "http://localhost"
        );
        assert_eq!(
            request_root(&headers(&[]), Some("https://x.org/app/")),
            "https://x.org/app"
        );
        assert_eq!(
            request_root(&headers(&[("host", "[::1]:80")]), None),
            "http://[::1]:80"
        );
    }
}
