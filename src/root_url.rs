//! The public root URL of the app, as a client reached it: for `/config`'s `root`, code
//! snippets and file URLs. It carries the path the app is mounted under, so every URL the
//! service hands out works behind `nest_service("/tools", …)` or a prefix-stripping proxy.

use http::HeaderMap;

/// The longest mount path taken from a setting or an `X-Forwarded-Prefix` header.
const MAX_MOUNT_PATH: usize = 256;

/// The root URL for a request: the configured public URL, else `scheme://host{mount}` from
/// `X-Forwarded-Proto`/`X-Forwarded-Host` or `Host`, where the mount path is the request's
/// `X-Forwarded-Prefix` (set by a reverse proxy that strips it) or else the configured
/// `root_path`. Hosts with characters outside `A-Z a-z 0-9 . - : [ ]` are not trusted (they
/// would end up in shell snippets and JSON), and `localhost` is used instead; a forwarded
/// prefix that is not a plain path (see [`mount_path`]) is ignored.
pub(crate) fn request_root(
    headers: &HeaderMap,
    public_url: Option<&str>,
    root_path: &str,
) -> String {
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
    let mount = forwarded_prefix(headers).unwrap_or(root_path);
    format!("{scheme}://{host}{mount}")
}

/// The request's `X-Forwarded-Prefix`, when it is a plain path (see [`mount_path`]).
pub(crate) fn forwarded_prefix(headers: &HeaderMap) -> Option<&str> {
    headers
        .get("x-forwarded-prefix")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .and_then(mount_path)
}

/// A mount path in its canonical form (`""` for the root, else `/a/b` without a trailing
/// slash), or `None` when it is not a plain path: it must start with `/`, be at most 256
/// bytes, use only `A-Z a-z 0-9 - . _ ~ / %`, and have no `.` or `..` segment. Those
/// characters are safe in JSON, URLs and the double-quoted strings of shell snippets.
pub(crate) fn mount_path(path: &str) -> Option<&str> {
    let plain = path.starts_with('/')
        && path.len() <= MAX_MOUNT_PATH
        && path.bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/' | b'%')
        })
        && !path
            .split('/')
            .any(|segment| segment == "." || segment == "..");
    plain.then(|| path.trim_end_matches('/'))
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
            request_root(&headers(&[("host", "127.0.0.1:7860")]), None, ""),
            "http://127.0.0.1:7860"
        );
        assert_eq!(
            request_root(
                &headers(&[
                    ("host", "internal:80"),
                    ("x-forwarded-host", "me.hf.space"),
                    ("x-forwarded-proto", "https")
                ]),
                None,
                ""
            ),
            "https://me.hf.space"
        );
        assert_eq!(
            request_root(&headers(&[("host", "a$(rm -rf /)")]), None, ""),
            "http://localhost"
        );
        assert_eq!(
            request_root(&headers(&[]), Some("https://x.org/app/"), "/tools"),
            "https://x.org/app"
        );
        assert_eq!(
            request_root(&headers(&[("host", "[::1]:80")]), None, ""),
            "http://[::1]:80"
        );
    }

    #[test]
    fn mount_paths() {
        let host = [("host", "127.0.0.1:7860")];
        assert_eq!(
            request_root(&headers(&host), None, "/tools"),
            "http://127.0.0.1:7860/tools"
        );
        // A proxy's prefix wins over the setting, for that request.
        assert_eq!(
            request_root(
                &headers(&[
                    ("host", "127.0.0.1:7860"),
                    ("x-forwarded-prefix", "/proxied/app/")
                ]),
                None,
                "/tools"
            ),
            "http://127.0.0.1:7860/proxied/app"
        );
        // Unsafe prefixes are ignored.
        for bad in ["proxied", "/a/../b", "/a\"$(x)\"", "/a b", "/./x"] {
            let mut h = headers(&host);
            if let Ok(v) = bad.parse() {
                h.insert("x-forwarded-prefix", v);
            }
            assert_eq!(
                request_root(&h, None, "/t"),
                "http://127.0.0.1:7860/t",
                "{bad}"
            );
        }
        assert_eq!(mount_path("/"), Some(""));
        assert_eq!(mount_path("/a/b/"), Some("/a/b"));
        assert_eq!(mount_path(&format!("/{}", "a".repeat(300))), None);
    }
}
