//! The endpoints of the `scale_out` example: what every replica serves.

use std::time::Duration;

use futures_util::StreamExt;
use gradio_compat::{CallContext, FileData, Registry};
use schemars::JsonSchema;
use serde::Deserialize;

/// Add two numbers.
#[derive(Deserialize, JsonSchema)]
struct AddArgs {
    /// The first number.
    a: f64,
    /// The second number.
    b: f64,
}

fn hundred() -> u64 {
    100
}

/// Count from 0 to n-1, one number every `delay_ms`.
#[derive(Deserialize, JsonSchema)]
struct CountArgs {
    /// How many numbers.
    n: u64,
    /// Milliseconds between numbers.
    #[serde(default = "hundred")]
    delay_ms: u64,
}

/// Return a copy of an uploaded file.
#[derive(Deserialize, JsonSchema)]
struct EchoArgs {
    /// The file to copy.
    file: FileData,
}

/// Sleep, then say so; a cancel stops it early, with no result.
#[derive(Deserialize, JsonSchema)]
struct SleepArgs {
    /// How long to sleep, in seconds (at most one hour).
    seconds: f64,
}

/// `add`, `count`, `echo_file` and `sleep`.
pub fn registry() -> Registry {
    Registry::new()
        .typed("add", |a: AddArgs, _: CallContext| async move {
            Ok::<_, String>(a.a + a.b)
        })
        .typed_stream("count", |a: CountArgs, _: CallContext| {
            let delay = Duration::from_millis(a.delay_ms.min(60_000));
            futures_util::stream::iter(0..a.n.min(100_000)).then(move |i| async move {
                if i > 0 {
                    tokio::time::sleep(delay).await;
                }
                Ok::<_, String>(i)
            })
        })
        .typed("echo_file", |a: EchoArgs, ctx: CallContext| async move {
            let copy = ctx
                .output_path(&a.file.display_name())
                .map_err(|e| format!("no room for the copy: {e}"))?;
            tokio::fs::copy(&a.file.path, &copy)
                .await
                .map_err(|e| format!("could not copy the file: {e}"))?;
            Ok::<_, String>(FileData::from_path(copy.to_string_lossy()))
        })
        .typed("sleep", |a: SleepArgs, ctx: CallContext| async move {
            if !(0.0..=3600.0).contains(&a.seconds) {
                return Err(format!(
                    "seconds must be within 0..=3600, not {}",
                    a.seconds
                ));
            }
            tokio::select! {
                () = tokio::time::sleep(Duration::from_secs_f64(a.seconds)) => {
                    Ok(Some(format!("slept {} s", a.seconds)))
                }
                () = ctx.cancelled() => Ok::<_, String>(None),
            }
        })
}
