//! The service as a tower service, a hyper service, mounted in axum under any path.

mod common;

use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::{request, TestServer};
use gradio_compat::GradioCompat;
use http::{Method, StatusCode};
use http_body_util::BodyExt;
use tower::ServiceExt;

fn service() -> GradioCompat {
    GradioCompat::builder(registry(Probe::new()))
        .build()
        .unwrap()
}

#[tokio::test]
async fn works_as_a_tower_service() {
    let response = service()
        .oneshot(request(Method::GET, "/gradio_api/info", &[], Bytes::new()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.starts_with(b"{\"named_endpoints\""));
}

#[tokio::test]
async fn works_as_a_hyper_service() {
    use hyper::service::Service;
    let svc = service();
    let response = svc
        .call(request(Method::GET, "/gradio_api/info", &[], Bytes::new()))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[test]
fn is_cheap_to_clone_and_thread_safe() {
    fn check<T: Clone + Send + Sync + 'static>() {}
    check::<GradioCompat>();
    let svc = service();
    let clone = svc.clone();
    assert_eq!(clone.config().prefix, svc.config().prefix);
}

/// Beside an app's own routes and a catch-all fallback, under a sub-path, with axum.
#[tokio::test]
async fn mounts_in_axum_beside_a_fallback_and_under_a_sub_path() {
    let at_root = service();
    let nested = GradioCompat::builder(registry(Probe::new()))
        .prefix("")
        .build()
        .unwrap();
    let app = Router::new()
        .route("/", get(|| async { "home" }))
        .route_service("/gradio_api/{*rest}", at_root)
        .nest_service("/tools/v1", nested)
        .fallback(|| async { "fallback" });
    let server = TestServer::start(app).await;
    assert_eq!(server.get("/").await.text(), "home");
    assert_eq!(server.get("/anything/else").await.text(), "fallback");
    let info = server.get("/gradio_api/info").await;
    assert_eq!(info.status, StatusCode::OK);
    assert!(info.json()["named_endpoints"]["/add"].is_object());
    let id = server
        .post_json("/tools/v1/call/add", r#"{"data": [1, 2]}"#)
        .await
        .event_id();
    let poll = server.get(&format!("/tools/v1/call/add/{id}")).await;
    assert_eq!(poll.text(), "event: complete\ndata: [3.0]\n\n");
}

#[tokio::test]
async fn a_custom_prefix_moves_every_route() {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .prefix("/api/")
        .build()
        .unwrap();
    assert_eq!(svc.config().prefix, "/api");
    assert!(svc.owns_path("/api/info"));
    assert!(!svc.owns_path("/apix/info"));
    let server = TestServer::start(svc).await;
    assert_eq!(server.get("/api/info").await.status, StatusCode::OK);
    assert_eq!(
        server.get("/gradio_api/info").await.status,
        StatusCode::NOT_FOUND
    );
}
