//! The MCP routes over loopback, spoken by hand (the official clients are in interop/): the
//! landing page, `/mcp/schema`, the paths Gradio answers, the stateless replies (one JSON
//! response for a lone result, an SSE stream when progress comes first), the
//! allowed hosts, and the 404 when MCP is off. The call life itself is the one `/call` uses.

mod common;

use bytes::Bytes;
use common::fixtures::{registry, Probe};
use common::{request, TestServer};
use gradio_compat::GradioCompat;
use http::{Method, StatusCode};
use serde_json::{json, Value};

async fn server(mcp: bool, hosts: &[&str]) -> TestServer {
    let svc = GradioCompat::builder(registry(Probe::new()))
        .mcp(mcp)
        .mcp_allowed_hosts(hosts.iter().copied())
        .build()
        .unwrap();
    TestServer::start(svc).await
}

fn rpc(body: Value) -> Bytes {
    Bytes::from(body.to_string())
}

const RPC_HEADERS: &[(&str, &str)] = &[
    ("content-type", "application/json"),
    ("accept", "application/json, text/event-stream"),
    ("mcp-protocol-version", "2025-06-18"),
];

/// The JSON-RPC messages of a reply: one JSON message, or an SSE stream of them.
fn messages(content_type: &str, body: &str) -> Vec<Value> {
    if content_type.starts_with("application/json") {
        return vec![serde_json::from_str(body).expect("a JSON-RPC message")];
    }
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str(d.trim()).ok())
        .collect()
}

/// One JSON-RPC POST to `{p}/mcp`: its content type and messages.
async fn post_rpc_typed(s: &TestServer, body: Value) -> (String, Vec<Value>) {
    let r = s
        .send(request(
            Method::POST,
            "/gradio_api/mcp",
            RPC_HEADERS,
            rpc(body),
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let content_type = r.header("content-type").expect("a content type").to_owned();
    let messages = messages(&content_type, r.text());
    (content_type, messages)
}

/// One JSON-RPC POST to `{p}/mcp`: its messages.
async fn post_rpc(s: &TestServer, body: Value) -> Vec<Value> {
    post_rpc_typed(s, body).await.1
}

#[tokio::test]
async fn a_browser_gets_a_page_and_clients_get_tools() {
    let s = server(true, &[]).await;
    let page = s.get("/gradio_api/mcp").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page
        .header("content-type")
        .unwrap()
        .starts_with("text/html"));
    let url = format!("http://{}/gradio_api/mcp", s.addr);
    assert!(page.text().contains(&url), "{}", page.text());

    for path in [
        "/gradio_api/mcp",
        "/gradio_api/mcp/",
        "/gradio_api/mcp/http/",
    ] {
        let r = s
            .send(request(
                Method::POST,
                path,
                RPC_HEADERS,
                rpc(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}})),
            ))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.text());
        // A reply with nothing before it is one JSON response.
        let content_type = r.header("content-type").unwrap();
        assert!(
            content_type.starts_with("application/json"),
            "{content_type}"
        );
        assert!(
            r.header("mcp-session-id").is_none(),
            "stateless: no session"
        );
        let replies = messages(content_type, r.text());
        let tools = replies[0]["result"]["tools"].as_array().expect("tools");
        let add = tools.iter().find(|t| t["name"] == "add").expect("add");
        assert_eq!(add["inputSchema"]["type"], "object");
        assert_eq!(add["inputSchema"]["required"], json!(["a", "b"]));
    }

    // A call: the same life as /call; without a progress token, one JSON response.
    let (content_type, replies) = post_rpc_typed(
        &s,
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                        "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}),
    )
    .await;
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    let result = &replies.last().expect("a reply")["result"];
    assert_eq!(result["content"][0]["text"], "5.0", "{result}");
    assert_ne!(result["isError"], true);

    // With a progress token, the notifications come first on an SSE stream, then the result.
    let (content_type, replies) = post_rpc_typed(
        &s,
        json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
               "params": {"name": "count", "arguments": {"n": 3, "prefix": "c"},
                          "_meta": {"progressToken": "p1"}}}),
    )
    .await;
    assert!(
        content_type.starts_with("text/event-stream"),
        "{content_type}"
    );
    let progress: Vec<&Value> = replies
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .collect();
    assert!(!progress.is_empty(), "{replies:?}");
    assert!(progress
        .iter()
        .all(|m| m["params"]["progressToken"] == "p1"));
    let result = &replies.last().expect("a reply")["result"];
    assert_eq!(result["content"][0]["text"], "c012", "{replies:?}");

    // Bad arguments: a tool error naming the parameter, as /call's 422 does.
    let replies = post_rpc(
        &s,
        json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call",
                        "params": {"name": "add", "arguments": {"a": "two", "b": 3}}}),
    )
    .await;
    let result = &replies.last().expect("a reply")["result"];
    assert_eq!(result["isError"], true, "{result}");
    assert!(
        result["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("\"a\""),
        "{result}"
    );

    // An unknown tool is a protocol error that lists the tools.
    let replies = post_rpc(
        &s,
        json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call",
                        "params": {"name": "nope", "arguments": {}}}),
    )
    .await;
    let error = &replies.last().expect("a reply")["error"];
    assert!(
        error["message"].as_str().unwrap().contains("add"),
        "{error}"
    );
}

#[tokio::test]
async fn the_schema_route_lists_and_filters() {
    let s = server(true, &[]).await;
    let all = s.get("/gradio_api/mcp/schema").await;
    assert_eq!(all.status, StatusCode::OK);
    let tools = all.json();
    let names: Vec<&str> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert!(
        names.contains(&"add") && names.contains(&"file_size"),
        "{names:?}"
    );
    let file = tools
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "file_size")
        .unwrap();
    assert_eq!(file["meta"]["file_data_present"], true);
    assert_eq!(file["meta"]["endpoint_name"], "/file_size");
    let some = s.get("/gradio_api/mcp/schema?tools=add,count").await.json();
    let names: Vec<&str> = some
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["add", "count"]);
    let other = s.get("/gradio_api/mcp/sse").await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert!(other.json()["error"]
        .as_str()
        .unwrap()
        .contains("/gradio_api/mcp"));
}

#[tokio::test]
async fn hosts_outside_the_allowed_list_are_refused() {
    // The test client sends `Host: 127.0.0.1:<port>`.
    let body = rpc(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}));
    let closed = server(true, &["tools.example.org"]).await;
    let r = closed
        .send(request(
            Method::POST,
            "/gradio_api/mcp",
            RPC_HEADERS,
            body.clone(),
        ))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    let open = server(true, &["tools.example.org", "127.0.0.1"]).await;
    let r = open
        .send(request(Method::POST, "/gradio_api/mcp", RPC_HEADERS, body))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}

#[tokio::test]
async fn without_mcp_the_routes_say_how_to_turn_it_on() {
    let s = server(false, &[]).await;
    let r = s.get("/gradio_api/mcp").await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.json()["error"]
        .as_str()
        .unwrap()
        .contains("Builder::mcp(true)"));
}
