//! Server-sent event framing: every byte the two streams send, in one place.
//!
//! The `/call` stream uses `event:` + `data:` pairs; the queue stream (`sse_v3`) uses
//! `data: <one-line JSON>\n\n` only, since any `event:` line, comment or CRLF breaks
//! gradio_client. JSON from serde_json never holds a raw newline, so a value is one line.

pub(crate) mod queue;

use bytes::{BufMut, Bytes, BytesMut};

use crate::backend::Outcome;

/// The `/call` stream's heartbeat.
pub(crate) const CALL_HEARTBEAT: &[u8] = b"event: heartbeat\ndata: null\n\n";

/// The queue stream's heartbeat.
pub(crate) const QUEUE_HEARTBEAT: &[u8] = b"data: {\"msg\":\"heartbeat\",\"event_id\":null}\n\n";

/// The queue stream's last message: the session has nothing pending.
pub(crate) const CLOSE_STREAM: &[u8] = b"data: {\"msg\":\"close_stream\",\"event_id\":null}\n\n";

/// `event: complete` or `event: error`, as the `/call` stream sends it.
pub(crate) fn terminal(outcome: &Outcome) -> Bytes {
    match outcome {
        Outcome::Complete(data) => {
            let mut out = BytesMut::with_capacity(data.len() + 28);
            out.put_slice(b"event: complete\ndata: ");
            out.put_slice(data);
            out.put_slice(b"\n\n");
            out.freeze()
        }
        Outcome::Error(message) => {
            let mut out = BytesMut::with_capacity(message.len() + 90);
            out.put_slice(b"event: error\ndata: {\"error\":");
            out.put_slice(message);
            out.put_slice(b",\"title\":\"Error\",\"visible\":true,\"duration\":null}\n\n");
            out.freeze()
        }
    }
}

/// `event: generating\ndata: <full output list>\n\n`.
pub(crate) fn generating(data: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(data.len() + 32);
    out.put_slice(b"event: generating\ndata: ");
    out.put_slice(data);
    out.put_slice(b"\n\n");
    out.freeze()
}

/// Frames one message as `data: <json>\n\n`.
pub(crate) fn queue_message(json: &[u8]) -> Bytes {
    let mut out = BytesMut::with_capacity(json.len() + 8);
    out.put_slice(b"data: ");
    out.put_slice(json);
    out.put_slice(b"\n\n");
    out.freeze()
}
