//! Downloads the `http://` URL an MCP client passed as a file input: one GET over hyper's
//! HTTP/1 client, with a size limit, a time limit, at most three redirects, and (unless the
//! server allows it) no private, loopback or link-local addresses, so that a tool call cannot
//! make the server read its own network.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::{header, Request, StatusCode, Uri};
use http_body_util::{BodyExt, Empty};
use hyper_util::rt::TokioIo;

/// The whole download, connection included, must end within this.
const TIMEOUT: Duration = Duration::from_secs(30);
const MAX_REDIRECTS: usize = 3;

/// A downloaded file.
pub(crate) struct Fetched {
    pub(crate) bytes: Bytes,
    pub(crate) content_type: Option<String>,
}

/// Downloads `url` (plain `http://`), at most `limit` bytes.
pub(crate) async fn fetch(url: &str, limit: u64, allow_private: bool) -> Result<Fetched, String> {
    match tokio::time::timeout(TIMEOUT, fetch_following(url, limit, allow_private)).await {
        Ok(result) => result,
        Err(_) => Err(format!(
            "downloading {url} took longer than {} s",
            TIMEOUT.as_secs()
        )),
    }
}

async fn fetch_following(url: &str, limit: u64, allow_private: bool) -> Result<Fetched, String> {
    let mut current: String = url.to_owned();
    for _ in 0..=MAX_REDIRECTS {
        match get_once(&current, limit, allow_private).await? {
            Step::Done(fetched) => return Ok(fetched),
            Step::Redirect(next) => current = next,
        }
    }
    Err(format!("{url}: more than {MAX_REDIRECTS} redirects"))
}

enum Step {
    Done(Fetched),
    Redirect(String),
}

async fn get_once(url: &str, limit: u64, allow_private: bool) -> Result<Step, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("{url:?} is not a valid URL: {e}"))?;
    match uri.scheme_str() {
        Some("http") => {}
        Some("https") => {
            return Err(format!(
                "{url}: this server does not download https URLs; pass the file as a data: URI \
                 (data:<mime type>;base64,<bytes>), or upload it with POST /upload and pass the \
                 URL the server gives it"
            ))
        }
        _ => return Err(format!("{url:?} is not an http URL")),
    }
    let host = uri
        .host()
        .ok_or_else(|| format!("{url:?} has no host"))?
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    let port = uri.port_u16().unwrap_or(80);
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
        .await
        .map_err(|e| format!("{url}: could not resolve {host}: {e}"))?
        .collect();
    let addr = addrs
        .iter()
        .copied()
        .find(|a| allow_private || is_public(a.ip()))
        .ok_or_else(|| {
            format!(
                "{url}: {host} is a private, loopback or link-local address, which this server \
                 does not download from; pass the file as a data: URI instead"
            )
        })?;
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("{url}: could not connect to {addr}: {e}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("{url}: HTTP handshake failed: {e}"))?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let authority = uri
        .authority()
        .map(|a| a.as_str().to_owned())
        .unwrap_or(host);
    let path = uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/")
        .to_owned();
    let request = Request::get(path)
        .header(header::HOST, authority)
        .header(header::USER_AGENT, "gradio-compat")
        .body(Empty::<Bytes>::new())
        .map_err(|e| format!("{url}: {e}"))?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| format!("{url}: the request failed: {e}"))?;
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| format!("{url}: redirect {status} without a Location"))?;
        return Ok(Step::Redirect(absolute(&uri, location)));
    }
    if status != StatusCode::OK {
        return Err(format!("{url}: the server answered {status}"));
    }
    let too_large =
        || format!("{url}: the file is larger than this server's limit of {limit} bytes");
    let declared = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_owned());
    let mut body = response.into_body();
    let mut bytes = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| format!("{url}: reading the body failed: {e}"))?;
        if let Ok(data) = frame.into_data() {
            if (bytes.len() + data.len()) as u64 > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&data);
        }
    }
    Ok(Step::Done(Fetched {
        bytes: bytes.freeze(),
        content_type,
    }))
}

/// A `Location` made absolute against the URL that answered it.
fn absolute(base: &Uri, location: &str) -> String {
    if location.contains("://") {
        return location.to_owned();
    }
    let scheme = base.scheme_str().unwrap_or("http");
    let authority = base.authority().map(|a| a.as_str()).unwrap_or_default();
    if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else {
        let dir = base.path().rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        format!("{scheme}://{authority}{dir}/{location}")
    }
}

/// Whether an address is on the public internet (not loopback, private, link-local,
/// unspecified, shared, documentation or multicast).
fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "169.254.169.254",
            "::1",
            "fd00::1",
            "100.64.0.1",
            "0.0.0.0",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["8.8.8.8", "2606:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn redirects_are_made_absolute() {
        let base: Uri = "http://a.example:8080/x/y.png".parse().unwrap();
        assert_eq!(absolute(&base, "/z"), "http://a.example:8080/z");
        assert_eq!(absolute(&base, "z.png"), "http://a.example:8080/x/z.png");
        assert_eq!(absolute(&base, "http://b/c"), "http://b/c");
    }
}
