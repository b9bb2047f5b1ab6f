//! The JSON messages of the queue stream (`sse_v3`), each framed as one `data:` line.

use bytes::{BufMut, Bytes, BytesMut};

use crate::backend::Outcome;
use crate::event_id::EventId;
use crate::frames::queue_message;

/// `estimation`: the job's place in its endpoint's line (0 = next) and the line's length.
pub(crate) fn estimation(id: EventId, rank: usize, queue_size: usize) -> Bytes {
    queue_message(
        format!(
            "{{\"msg\":\"estimation\",\"event_id\":\"{}\",\"rank\":{rank},\"queue_size\":{queue_size},\"rank_eta\":null}}",
            id.to_hex().as_str()
        )
        .as_bytes(),
    )
}

/// `process_generating`: the first of a job carries the full output list, later ones one
/// diff per output, `[["replace", [], value]]`, which every client applies.
pub(crate) fn process_generating(id: EventId, data: &[u8], first: bool) -> Bytes {
    let id = id.to_hex();
    let mut out = BytesMut::with_capacity(data.len() + 256);
    out.put_slice(b"{\"msg\":\"process_generating\",\"event_id\":\"");
    out.put_slice(id.as_str().as_bytes());
    out.put_slice(b"\",\"output\":{\"data\":");
    if first {
        out.put_slice(data);
    } else {
        // `data` is the output list `[v]`: wrap each value as a replace diff.
        match serde_json::from_slice::<Vec<serde_json::Value>>(data) {
            Ok(values) => {
                let diffs: Vec<serde_json::Value> = values
                    .into_iter()
                    .map(|v| serde_json::json!([["replace", [], v]]))
                    .collect();
                out.put_slice(
                    serde_json::to_string(&diffs)
                        .unwrap_or_else(|_| "[]".into())
                        .as_bytes(),
                );
            }
            Err(_) => out.put_slice(b"[]"),
        }
    }
    out.put_slice(
        b",\"is_generating\":true,\"duration\":null,\"average_duration\":null,\"render_config\":null,\
          \"changed_state_ids\":[],\"used_cache\":null},\"success\":true,\"time_limit\":null}",
    );
    queue_message(&out)
}

/// `progress`, from [`CallContext::progress`](crate::CallContext::progress).
pub(crate) fn progress(
    id: EventId,
    index: u64,
    length: Option<u64>,
    unit: &str,
    desc: Option<&str>,
) -> Bytes {
    let fraction = length
        .filter(|l| *l > 0)
        .map(|l| (index as f64 / l as f64).clamp(0.0, 1.0));
    let json = serde_json::json!({
        "msg": "progress",
        "event_id": id.to_hex().as_str(),
        "progress_data": [{
            "index": index,
            "length": length,
            "unit": unit,
            "progress": fraction,
            "desc": desc,
        }],
    });
    queue_message(json.to_string().as_bytes())
}

/// `log`, from [`CallContext::info`](crate::CallContext::info) and
/// [`CallContext::warning`](crate::CallContext::warning).
pub(crate) fn log(id: EventId, level: &str, message: &str) -> Bytes {
    let title = if level == "warning" {
        "Warning"
    } else {
        "Info"
    };
    let json = serde_json::json!({
        "msg": "log",
        "event_id": id.to_hex().as_str(),
        "log": message,
        "level": level,
        "duration": 10.0,
        "visible": true,
        "title": title,
    });
    queue_message(json.to_string().as_bytes())
}

pub(crate) fn process_starts(id: EventId) -> Bytes {
    queue_message(
        format!(
            "{{\"msg\":\"process_starts\",\"event_id\":\"{}\",\"eta\":null}}",
            id.to_hex().as_str()
        )
        .as_bytes(),
    )
}

/// `process_completed`: success carries `output.data` and no `error` key; failure carries the
/// error payload; a cancelled job completes with an empty output, as Gradio does.
pub(crate) fn process_completed(
    id: EventId,
    outcome: &Outcome,
    cancelled: bool,
    duration: f64,
) -> Bytes {
    let id = id.to_hex();
    let mut out = BytesMut::with_capacity(256);
    out.put_slice(b"{\"msg\":\"process_completed\",\"event_id\":\"");
    out.put_slice(id.as_str().as_bytes());
    out.put_slice(b"\",\"output\":");
    let duration = if duration.is_finite() { duration } else { 0.0 };
    match outcome {
        _ if cancelled => {
            out.put_slice(b"{},\"success\":true,\"title\":null");
        }
        Outcome::Complete(data) => {
            out.put_slice(b"{\"data\":");
            out.put_slice(data);
            out.put_slice(
                format!(
                    ",\"is_generating\":false,\"duration\":{duration},\"average_duration\":{duration},\
                     \"render_config\":null,\"changed_state_ids\":[],\"used_cache\":null}},\
                     \"success\":true,\"title\":null"
                )
                .as_bytes(),
            );
        }
        Outcome::Error(message) => {
            out.put_slice(b"{\"error\":");
            out.put_slice(message);
            out.put_slice(
                b",\"duration\":null,\"visible\":true,\"title\":\"Error\"},\"success\":false,\"title\":\"Error\"",
            );
        }
    }
    out.put_slice(b",\"used_cache\":null,\"cache_duration\":null,\"avg_time\":null}");
    queue_message(&out)
}

/// A failed `process_completed` for a job whose runner was lost (its lease ran out).
pub(crate) fn process_lost(id: EventId, lease: std::time::Duration) -> Bytes {
    let message = crate::backend::lost_outcome(lease);
    process_completed(id, &message, false, 0.0)
}

/// The last message of a data stream whose shared store stopped answering.
pub(crate) fn store_unavailable(error: &crate::backend::BackendError) -> Bytes {
    let message = format!(
        "the shared store stopped answering ({error}), so what became of this session's jobs \
         is unknown; join the queue again later"
    );
    let json = serde_json::json!({
        "msg": "unexpected_error",
        "event_id": null,
        "message": message,
        "success": false,
    });
    queue_message(json.to_string().as_bytes())
}

/// The message for a data stream opened on an unknown session.
pub(crate) fn session_not_found(hash: &str) -> Bytes {
    let message = format!(
        "session {hash:?} not found: it has no pending job; POST /queue/join with this session_hash first"
    );
    let json = serde_json::json!({
        "msg": "unexpected_error",
        "event_id": null,
        "message": message,
        "session_not_found": true,
        "success": false,
    });
    queue_message(json.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn completed_messages_have_the_right_shape() {
        let id = EventId::new_random();
        let ok = process_completed(
            id,
            &Outcome::Complete(Bytes::from_static(b"[3]")),
            false,
            0.5,
        );
        let text = std::str::from_utf8(&ok).unwrap();
        assert!(
            text.starts_with("data: {")
                && text.ends_with("}\n\n")
                && !text[..text.len() - 2].contains('\n')
        );
        let v: serde_json::Value = serde_json::from_str(&text[6..]).unwrap();
        assert_eq!(v["output"]["data"], serde_json::json!([3]));
        assert!(v["output"].get("error").is_none());
        assert_eq!(v["success"], true);
        let err = process_completed(id, &Outcome::error("boom"), false, 0.0);
        let v: serde_json::Value =
            serde_json::from_str(std::str::from_utf8(&err[6..]).unwrap()).unwrap();
        assert_eq!(v["output"]["error"], "boom");
        assert_eq!(v["success"], false);
        let cancelled = process_completed(id, &Outcome::error("x"), true, 0.0);
        let v: serde_json::Value =
            serde_json::from_str(std::str::from_utf8(&cancelled[6..]).unwrap()).unwrap();
        assert_eq!(v["output"], serde_json::json!({}));
        let lost = process_lost(id, std::time::Duration::from_secs(30));
        let v: serde_json::Value =
            serde_json::from_str(std::str::from_utf8(&lost[6..]).unwrap()).unwrap();
        assert_eq!(v["success"], false);
        assert!(v["output"]["error"]
            .as_str()
            .is_some_and(|e| e.contains("30 s") && e.contains("lease")));
    }
}
