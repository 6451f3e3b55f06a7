//! The one error type of the public side, rendered as a Chinese HTML page or as JSON
//! naming the parameter.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::index::IndexError;

/// What went wrong with a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub status: StatusCode,
    /// The query parameter at fault, if one is.
    pub parameter: Option<String>,
    /// Chinese message for people.
    pub message: String,
}

impl Problem {
    pub fn bad_parameter(parameter: &str, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            parameter: Some(parameter.to_string()),
            message: format!("参数 {parameter} 无效：{}", message.into()),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            parameter: None,
            message: message.into(),
        }
    }

    pub fn too_many_requests() -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            parameter: None,
            message: "请求过于频繁，请稍后再试。".into(),
        }
    }

    pub fn unavailable() -> Self {
        Self {
            status: StatusCode::SERVICE_UNAVAILABLE,
            parameter: None,
            message: "检索服务暂时不可用，请稍后再试。".into(),
        }
    }
}

impl From<IndexError> for Problem {
    fn from(e: IndexError) -> Self {
        tracing::error!(error = %e, "index read failed");
        Problem::unavailable()
    }
}

/// The JSON body of every API error.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Problem)]
pub struct ProblemBody {
    /// Message in Chinese.
    pub error: String,
    /// The parameter at fault (null: none).
    #[schema(required)]
    pub parameter: Option<String>,
    /// The HTTP status.
    pub status: u16,
}

/// Rendered as JSON (`/api/…`).
pub struct JsonProblem(pub Problem);
/// Rendered as an HTML page.
pub struct HtmlProblem(pub Problem);

impl From<Problem> for JsonProblem {
    fn from(p: Problem) -> Self {
        Self(p)
    }
}

impl From<Problem> for HtmlProblem {
    fn from(p: Problem) -> Self {
        Self(p)
    }
}

impl From<IndexError> for JsonProblem {
    fn from(e: IndexError) -> Self {
        Self(e.into())
    }
}

impl From<IndexError> for HtmlProblem {
    fn from(e: IndexError) -> Self {
        Self(e.into())
    }
}

fn finish(mut r: Response, p: &Problem) -> Response {
    *r.status_mut() = p.status;
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if p.status == StatusCode::TOO_MANY_REQUESTS {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    }
    r
}

impl IntoResponse for JsonProblem {
    fn into_response(self) -> Response {
        let p = self.0;
        let body = ProblemBody {
            error: p.message.clone(),
            parameter: p.parameter.clone(),
            status: p.status.as_u16(),
        };
        finish(Json(body).into_response(), &p)
    }
}

impl IntoResponse for HtmlProblem {
    fn into_response(self) -> Response {
        let p = self.0;
        let title = match p.status {
            StatusCode::BAD_REQUEST => "请求参数有误",
            StatusCode::NOT_FOUND => "未找到",
            StatusCode::TOO_MANY_REQUESTS => "请求过于频繁",
            _ => "服务暂时不可用",
        };
        let mut body = format!(
            "<h1>{}</h1>\n<p role=\"alert\">{}</p>\n",
            title,
            super::html::esc(&p.message)
        );
        if let Some(param) = &p.parameter {
            body.push_str(&format!(
                "<p>出错的参数：<code>{}</code></p>\n",
                super::html::esc(param)
            ));
        }
        body.push_str("<p><a href=\"/\">返回首页</a></p>\n");
        finish(
            Html(super::html::layout(title, "", &body)).into_response(),
            &p,
        )
    }
}
