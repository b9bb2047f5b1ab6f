//! The `/config` document (served at the mount root, not under the prefix): the app
//! description the official clients read first. Derived from the registry once at build;
//! only `root` is filled in per request.

use serde_json::{json, Value};

use crate::args::Signature;
use crate::documents::info::EndpointDoc;
use crate::documents::template::{Template, ROOT};
use crate::registry::is_unit_schema;
use crate::schema;

/// Settings that show in `/config`.
pub(crate) struct AppSettings<'a> {
    pub(crate) version: &'a str,
    pub(crate) title: &'a str,
    pub(crate) prefix: &'a str,
    pub(crate) max_file_size: u64,
    pub(crate) show_error: bool,
}

fn component(
    id: usize,
    label: &str,
    schema_value: &Value,
    sig: &Signature,
    example: Option<Value>,
) -> Value {
    let (kind, api_info) = if is_unit_schema(schema_value) {
        ("api".to_owned(), json!({"type": "object"}))
    } else {
        (
            schema::component(schema_value, &sig.defs).to_ascii_lowercase(),
            schema::info_type(schema_value, &sig.defs),
        )
    };
    let mut c = json!({
        "id": id,
        "type": kind,
        "props": {"label": label, "name": kind, "visible": true, "show_label": true},
        "skip_api": false,
        "component_class_id": "",
        "key": null,
        "api_info": api_info,
        "api_info_as_input": api_info,
        "api_info_as_output": api_info,
    });
    if let Some(example) = example {
        c["example_inputs"] = example;
    }
    c
}

/// The whole `/config` document for the callable (non-private) endpoints, with the root URL
/// left as a placeholder.
pub(crate) fn document(
    deps: &[&EndpointDoc<'_>],
    settings: &AppSettings<'_>,
    app_id: u64,
) -> Template {
    let mut components = Vec::new();
    let mut dependencies = Vec::new();
    let mut layout = Vec::new();
    let mut next_id = 1;
    for (index, dep) in deps.iter().enumerate() {
        let sig = dep.sig;
        let mut inputs = Vec::new();
        for (i, p) in sig.params.iter().enumerate() {
            let label = p.spec.label.as_deref().unwrap_or(&p.spec.name);
            let example = crate::documents::info::param_example(sig, i);
            components.push(component(
                next_id,
                label,
                &p.spec.schema,
                sig,
                Some(example),
            ));
            inputs.push(next_id);
            layout.push(json!({"id": next_id}));
            next_id += 1;
        }
        let mut outputs = Vec::new();
        components.push(component(next_id, dep.output_label, dep.output, sig, None));
        outputs.push(next_id);
        layout.push(json!({"id": next_id}));
        next_id += 1;
        dependencies.push(json!({
            "id": index,
            "targets": [],
            "inputs": inputs,
            "outputs": outputs,
            "backend_fn": true,
            "js": null,
            "queue": true,
            "api_name": &*sig.name,
            "api_description": if dep.description.is_empty() { Value::Null } else { Value::from(dep.description) },
            "scroll_to_output": false,
            "show_progress": "full",
            "show_progress_on": null,
            "batch": false,
            "max_batch_size": 4,
            "cancels": [],
            "types": {"generator": dep.generator, "cancel": false},
            "collects_event_data": false,
            "trigger_after": null,
            "trigger_only_on_success": false,
            "trigger_only_on_failure": false,
            "trigger_mode": "once",
            "api_visibility": dep.visibility.as_str(),
            "rendered_in": null,
            "render_id": null,
            "connection": "sse",
            "time_limit": null,
            "stream_every": 0.5,
            "event_specific_args": null,
            "component_prop_inputs": [],
            "js_implementation": null,
        }));
    }
    let layout = json!({"id": 0, "children": layout});
    let doc = json!({
        "version": settings.version,
        "api_prefix": settings.prefix,
        "mode": "blocks",
        "app_id": app_id,
        "dev_mode": false,
        "vibe_mode": false,
        "analytics_enabled": false,
        "components": components,
        "css": null,
        "connect_heartbeat": false,
        "js": null,
        "head": null,
        "title": settings.title,
        "space_id": null,
        "enable_queue": true,
        "show_error": settings.show_error,
        "is_colab": false,
        "max_file_size": settings.max_file_size,
        "stylesheets": [],
        "theme": "default",
        "protocol": "sse_v3",
        "body_css": {},
        "fill_height": false,
        "fill_width": false,
        "theme_hash": null,
        "layout": layout,
        "dependencies": dependencies,
        "root": ROOT,
        "username": null,
        "i18n_translations": null,
        "page": {"": {"layout": layout, "dependencies": (0..deps.len()).collect::<Vec<_>>(), "components": (1..next_id).collect::<Vec<_>>()}},
        "pages": [["", "Home", true]],
        "footer_links": ["api"],
        "pwa": false,
        "mcp_server": false,
    });
    Template::new(serde_json::to_vec(&doc).unwrap_or_default())
}
