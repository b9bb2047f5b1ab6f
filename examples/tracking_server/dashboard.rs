//! The dashboard: a page and its scripts, embedded in the binary at compile time (nothing is
//! fetched from elsewhere), served at `/` and `/dashboard/{file}`. The page reads everything
//! through the public Gradio routes, as any client does; see `dashboard/main.js`.

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};

/// The page.
pub const INDEX: &str = include_str!("dashboard/index.html");

/// The files the page loads: name, content type, content.
const FILES: [(&str, &str, &str); 11] = [
    ("main.js", JS, include_str!("dashboard/main.js")),
    ("api.js", JS, include_str!("dashboard/api.js")),
    ("live.js", JS, include_str!("dashboard/live.js")),
    ("axis.js", JS, include_str!("dashboard/axis.js")),
    ("series.js", JS, include_str!("dashboard/series.js")),
    ("chart.js", JS, include_str!("dashboard/chart.js")),
    ("board.js", JS, include_str!("dashboard/board.js")),
    ("runs_table.js", JS, include_str!("dashboard/runs_table.js")),
    ("media.js", JS, include_str!("dashboard/media.js")),
    ("alerts.js", JS, include_str!("dashboard/alerts.js")),
    (
        "dashboard.css",
        "text/css; charset=utf-8",
        include_str!("dashboard/dashboard.css"),
    ),
];

const JS: &str = "text/javascript; charset=utf-8";

/// `GET /` (and any path no other route takes): the page.
pub async fn page() -> Html<&'static str> {
    Html(INDEX)
}

/// `GET /dashboard/{file}`: one of the page's files, or a JSON 404 naming them.
pub async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, kind, body)) => (
            [
                (header::CONTENT_TYPE, *kind),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            *body,
        )
            .into_response(),
        None => {
            let names: Vec<&str> = FILES.iter().map(|(n, _, _)| *n).collect();
            let body = serde_json::json!({
                "error": format!(
                    "no dashboard file named {name:?}; the dashboard has {}",
                    names.join(", ")
                )
            });
            (
                StatusCode::NOT_FOUND,
                [(header::CONTENT_TYPE, "application/json")],
                body.to_string(),
            )
                .into_response()
        }
    }
}
