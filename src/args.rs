//! Binding a call's `data` to an endpoint's parameters: arity, keywords, defaults, token
//! injection and schema checks, all before any job exists.

use std::sync::Arc;

use serde_json::Value;

use crate::auth::is_blank_token;
use crate::error::{ApiError, ArgProblem};
use crate::registry::{Binder, BoundCall, DirectBinder, ParamSpec};
use crate::schema::Defs;
use crate::validate::{describe, Checker};

/// A parameter, ready for binding.
pub(crate) struct CompiledParam {
    pub(crate) name: Arc<str>,
    pub(crate) spec: ParamSpec,
}

/// What binding needs to know about an endpoint.
pub(crate) struct Signature {
    pub(crate) name: Arc<str>,
    pub(crate) params: Vec<CompiledParam>,
    pub(crate) defs: Defs,
    pub(crate) binder: Binder,
    /// The parameter names, in order.
    pub(crate) names: Vec<Arc<str>>,
    /// The direct way in (`direct.rs`), when the endpoint is typed and its schemas let it.
    pub(crate) direct: Option<DirectBinder>,
    /// Index of the token parameter (`hf_token` by default), if the endpoint has one.
    pub(crate) token_index: Option<usize>,
}

/// A call ready to run, the token the authorize hook judges, and the `FileData` paths of its
/// arguments (with the index of their parameter), which the caller must check before the
/// call may run.
pub(crate) struct Bound {
    pub(crate) call: BoundCall,
    pub(crate) token: Option<String>,
    pub(crate) files: Vec<(usize, String)>,
}

impl Signature {
    fn param_list(&self) -> String {
        let names: Vec<&str> = self.params.iter().map(|p| &*p.name).collect();
        format!("({})", names.join(", "))
    }

    /// Maps `data` (positional array or keyword object) onto the parameters.
    pub(crate) fn bind(&self, data: Value, bearer: Option<&str>) -> Result<Bound, ApiError> {
        let n = self.params.len();
        let mut values: Vec<Option<Value>> = Vec::with_capacity(n);
        match data {
            Value::Array(items) => {
                if items.len() > n {
                    return Err(ApiError::invalid_arguments(
                        &self.name,
                        vec![ArgProblem {
                            parameter: "data".into(),
                            index: Some(n),
                            msg: format!(
                                "too many values: /{} takes {n} parameter{} {}, got {}",
                                self.name,
                                if n == 1 { "" } else { "s" },
                                self.param_list(),
                                items.len()
                            ),
                        }],
                    ));
                }
                values.extend(items.into_iter().map(Some));
                values.resize(n, None);
            }
            Value::Object(mut map) => {
                values.extend(self.params.iter().map(|p| map.remove(&*p.name)));
                if let Some(unknown) = map.keys().next() {
                    return Err(ApiError::invalid_arguments(
                        &self.name,
                        vec![ArgProblem {
                            parameter: unknown.clone(),
                            index: None,
                            msg: format!(
                                "unknown parameter {unknown:?}: /{} takes {}",
                                self.name,
                                self.param_list()
                            ),
                        }],
                    ));
                }
            }
            other => {
                return Err(ApiError::unprocessable(format!(
                    "\"data\" must be an array of positional values or an object keyed by \
                     parameter name {}, got {}",
                    self.param_list(),
                    describe(&other)
                )));
            }
        }

        let mut token = None;
        if let Some(i) = self.token_index {
            if is_blank_token(values[i].as_ref()) {
                if let Some(bearer) = bearer {
                    values[i] = Some(Value::String(bearer.to_owned()));
                }
                token = bearer.map(str::to_owned);
            } else if let Some(Value::String(own)) = &values[i] {
                token = Some(own.trim().to_owned());
            }
        }

        let checker = Checker::new(&self.defs);
        let mut files = Vec::new();
        let mut problems = Vec::new();
        let mut args = Vec::with_capacity(n);
        for (index, (param, value)) in self.params.iter().zip(values).enumerate() {
            let optional = param.spec.default.is_some();
            let mut value = match value {
                // An explicit null for an optional parameter that cannot be null means "use
                // the default", as positional callers pad with nulls.
                Some(Value::Null) if optional && !accepts_null(&checker, &param.spec.schema) => {
                    None
                }
                other => other,
            };
            match &mut value {
                Some(v) => {
                    let checked = checker.check(v, &param.spec.schema);
                    files.extend(checker.files.borrow_mut().drain(..).map(|p| (index, p)));
                    if let Err(m) = checked {
                        let at = if m.pointer.is_empty() {
                            String::new()
                        } else {
                            format!(" at {}", m.pointer)
                        };
                        problems.push(ArgProblem {
                            parameter: param.name.to_string(),
                            index: Some(index),
                            msg: format!(
                                "parameter {:?} (index {index}){at}: {}",
                                &*param.name, m.msg
                            ),
                        });
                    }
                }
                None => match &param.spec.default {
                    None => problems.push(ArgProblem {
                        parameter: param.name.to_string(),
                        index: Some(index),
                        msg: format!(
                            "missing required parameter {:?} (index {index}) of /{} {}",
                            &*param.name,
                            self.name,
                            self.param_list()
                        ),
                    }),
                    Some(default) if !param.spec.omit_when_missing => {
                        value = Some(default.clone());
                    }
                    Some(_) => {}
                },
            }
            args.push((param.name.clone(), value));
        }
        if !problems.is_empty() {
            return Err(ApiError::invalid_arguments(&self.name, problems));
        }
        let call = (self.binder)(args).map_err(|mut problem| {
            problem.index = self
                .params
                .iter()
                .position(|p| *p.name == problem.parameter);
            ApiError::invalid_arguments(&self.name, vec![problem])
        })?;
        Ok(Bound { call, token, files })
    }
}

fn accepts_null(checker: &Checker<'_>, schema: &Value) -> bool {
    checker.check(&mut Value::Null, schema).is_ok()
}
