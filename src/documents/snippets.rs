//! The `code_snippets` of `/info`: curl (bash), Python and JavaScript calls of an endpoint,
//! ready to run against the server that served them.

use serde_json::{json, Value};

use crate::documents::template::ROOT;

/// One argument as the snippets pass it.
pub(crate) struct SnippetArg {
    pub(crate) name: String,
    pub(crate) example: Value,
    pub(crate) is_file: bool,
}

/// The example file name snippets upload for file parameters.
const EXAMPLE_FILE: &str = "example.txt";

/// Quotes text for bash within single quotes.
fn shell_single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// A JSON value written as a Python literal.
fn python_literal(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => Value::String(s.clone()).to_string(),
        Value::Array(items) => {
            let inner: Vec<String> = items.iter().map(python_literal).collect();
            format!("[{}]", inner.join(", "))
        }
        Value::Object(map) => {
            let inner: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", Value::String(k.clone()), python_literal(v)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
    }
}

/// The three snippets for endpoint `api`. `token` says whether the endpoint takes a token, in
/// which case the snippets pass `$HF_TOKEN`.
pub(crate) fn code_snippets(prefix: &str, api: &str, args: &[SnippetArg], token: bool) -> Value {
    json!({
        "python": python(api, args, token),
        "javascript": javascript(api, args, token),
        "bash": bash(prefix, api, args, token),
    })
}

fn bash(prefix: &str, api: &str, args: &[SnippetArg], token: bool) -> String {
    let auth = if token {
        " -H \"Authorization: Bearer $HF_TOKEN\""
    } else {
        ""
    };
    let mut script = String::new();
    let mut data = serde_json::Map::new();
    for (i, arg) in args.iter().enumerate() {
        if arg.is_file {
            let var = format!("FILE_PATH_{i}");
            script.push_str(&format!(
                "# uploads ./{EXAMPLE_FILE} for {name:?}: put your own file there\n\
                 {var}=$(curl -s{auth} -F files=@{EXAMPLE_FILE} \"{ROOT}{prefix}/upload\" | sed -n 's/^\\[\"\\(.*\\)\"\\]$/\\1/p') && \\\n",
                name = arg.name,
            ));
            data.insert(
                arg.name.clone(),
                json!({"path": format!("__FILE_{i}__"), "meta": {"_type": "gradio.FileData"}}),
            );
        } else {
            data.insert(arg.name.clone(), arg.example.clone());
        }
    }
    let mut body = shell_single_quoted(&json!({ "data": data }).to_string());
    for (i, arg) in args.iter().enumerate() {
        if arg.is_file {
            // Leave the single quotes around the shell variable.
            body = body.replace(&format!("__FILE_{i}__"), &format!("'\"$FILE_PATH_{i}\"'"));
        }
    }
    script.push_str(&format!(
        "EVENT_ID=$(curl -s -X POST \"{ROOT}{prefix}/call/{api}\" -H \"Content-Type: application/json\"{auth} \\\n  \
         -d {body} \\\n  \
         | sed -n 's/.*\"event_id\":\"\\([0-9a-f]*\\)\".*/\\1/p') && \\\n\
         curl -sN{auth} \"{ROOT}{prefix}/call/{api}/$EVENT_ID\""
    ));
    script
}

fn python(api: &str, args: &[SnippetArg], token: bool) -> String {
    let any_file = args.iter().any(|a| a.is_file);
    let mut out = String::new();
    if token {
        out.push_str("import os\n");
    }
    out.push_str(if any_file {
        "from gradio_client import Client, handle_file\n\n"
    } else {
        "from gradio_client import Client\n\n"
    });
    if token {
        out.push_str(&format!(
            "client = Client(\"{ROOT}\", token=os.environ.get(\"HF_TOKEN\"))\n"
        ));
    } else {
        out.push_str(&format!("client = Client(\"{ROOT}\")\n"));
    }
    out.push_str("result = client.predict(\n");
    for arg in args {
        let value = if arg.is_file {
            format!("handle_file(\"{EXAMPLE_FILE}\")")
        } else {
            python_literal(&arg.example)
        };
        out.push_str(&format!("\t{}={value},\n", arg.name));
    }
    out.push_str(&format!("\tapi_name=\"/{api}\",\n)\nprint(result)"));
    out
}

fn javascript(api: &str, args: &[SnippetArg], token: bool) -> String {
    let any_file = args.iter().any(|a| a.is_file);
    let mut out = String::new();
    out.push_str(if any_file {
        "import { Client, handle_file } from \"@gradio/client\";\n\n"
    } else {
        "import { Client } from \"@gradio/client\";\n\n"
    });
    if token {
        out.push_str(&format!(
            "const client = await Client.connect(\"{ROOT}\", {{ token: process.env.HF_TOKEN }});\n"
        ));
    } else {
        out.push_str(&format!(
            "const client = await Client.connect(\"{ROOT}\");\n"
        ));
    }
    out.push_str(&format!(
        "const result = await client.predict(\"/{api}\", {{\n"
    ));
    for arg in args {
        let value = if arg.is_file {
            format!("handle_file(\"{EXAMPLE_FILE}\")")
        } else {
            arg.example.to_string()
        };
        out.push_str(&format!(
            "\t\t{}: {value},\n",
            Value::String(arg.name.clone())
        ));
    }
    out.push_str("});\n\nconsole.log(result.data);");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_literals() {
        assert_eq!(
            python_literal(&json!({"a": [true, null, 1.5, "x'y"]})),
            "{\"a\": [True, None, 1.5, \"x'y\"]}"
        );
    }

    #[test]
    fn bash_quotes_single_quotes_and_names_the_route() {
        let args = [SnippetArg {
            name: "text".into(),
            example: json!("it's"),
            is_file: false,
        }];
        let bash = bash("/gradio_api", "echo", &args, true);
        assert!(
            bash.contains(r#"-d '{"data":{"text":"it'\''s"}}'"#),
            "{bash}"
        );
        assert!(bash.contains("Authorization: Bearer $HF_TOKEN"));
        assert!(bash.contains(&format!("\"{ROOT}/gradio_api/call/echo/$EVENT_ID\"")));
        assert!(!bash.contains("| read"));
    }
}
