//! The HTTP SMS provider, in the shape of the common Chinese SMS APIs (Aliyun `SendSms` /
//! `QuerySendDetails`, JSON):
//!
//! - `POST <SONGNUAN_SMS_URL>/sms/send` with `Authorization: Bearer <SONGNUAN_SMS_KEY>` and
//!   `{"PhoneNumbers", "SignName", "TemplateCode", "TemplateParam", "OutId"}`, where
//!   `TemplateParam` is a JSON *string* `{"name","amount","campaign","paidOn"}` and `OutId` is
//!   the notice's out-id; answer `{"Code":"OK","Message","BizId","RequestId"}` (any other
//!   `Code` is a refusal);
//! - `POST <SONGNUAN_SMS_URL>/sms/query` with `{"PhoneNumber", "OutId"}`; answer
//!   `{"Code":"OK","TotalCount":n,"SmsSendDetailDTOs":[{"OutId","SendStatus",…}]}`: the
//!   message was accepted when a detail carries our out-id.
//!
//! Every call has the timeout `SONGNUAN_SMS_TIMEOUT_MS`. Errors name the address, never the
//! phone number.
use crate::core::error::{DomainError, DomainResult};
use crate::core::settings::{SmsProviderKind, SmsSettings};
use crate::work::notices::{LogProvider, Sms, SmsProvider};
use futures::future::BoxFuture;
use serde_json::{Value, json};
use std::sync::Arc;

/// The SMS provider the settings name (`SONGNUAN_SMS_PROVIDER`), made once at start.
pub fn provider_from_settings(s: &SmsSettings) -> DomainResult<Arc<dyn SmsProvider>> {
    Ok(match &s.provider {
        SmsProviderKind::Log => Arc::new(LogProvider),
        SmsProviderKind::Http { .. } => Arc::new(HttpProvider::new(s)?),
    })
}

pub struct HttpProvider {
    client: reqwest::Client,
    url: String,
    key: String,
    sign: String,
    template: String,
}

impl HttpProvider {
    pub fn new(s: &SmsSettings) -> DomainResult<HttpProvider> {
        let SmsProviderKind::Http {
            url,
            key,
            sign,
            template,
        } = &s.provider
        else {
            return Err(DomainError::internal(anyhow::anyhow!("不是 HTTP 短信通道")));
        };
        let client = reqwest::Client::builder()
            .timeout(s.timeout)
            .connect_timeout(s.timeout)
            .build()
            .map_err(DomainError::internal)?;
        Ok(HttpProvider {
            client,
            url: url.clone(),
            key: key.clone(),
            sign: sign.clone(),
            template: template.clone(),
        })
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}{path}", self.url);
        let resp = self
            .client
            .post(&url)
            .bearer_auth(&self.key)
            .json(&body)
            .send()
            .await
            .map_err(|e| describe(&url, &e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(format!("{url}: HTTP {}", status.as_u16()));
        }
        resp.json::<Value>()
            .await
            .map_err(|e| format!("{url}: 应答无法解析 ({})", describe(&url, &e)))
    }
}

fn describe(url: &str, e: &reqwest::Error) -> String {
    let what = if e.is_timeout() {
        "超时（结果未知）"
    } else if e.is_connect() {
        "无法连接"
    } else {
        "请求失败（结果未知）"
    };
    format!("{url}: {what}")
}

/// `TemplateParam`: the template's parameters as a JSON string (the providers' shape).
pub fn template_param(sms: &Sms) -> String {
    json!({
        "name": sms.name,
        "amount": sms.amount,
        "campaign": sms.campaign,
        "paidOn": sms.paid_on.map(|d| d.format("%Y-%m-%d").to_string()),
    })
    .to_string()
}

fn code_ok(v: &Value) -> Result<(), String> {
    match v.get("Code").and_then(Value::as_str) {
        Some("OK") => Ok(()),
        code => Err(format!(
            "短信服务商拒绝: {} {}",
            code.unwrap_or("?"),
            v.get("Message").and_then(Value::as_str).unwrap_or("")
        )),
    }
}

impl SmsProvider for HttpProvider {
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<(), String>> {
        Box::pin(async move {
            let body = json!({
                "PhoneNumbers": sms.phone,
                "SignName": self.sign,
                "TemplateCode": self.template,
                "TemplateParam": template_param(sms),
                "OutId": sms.out_id,
            });
            code_ok(&self.post("/sms/send", body).await?)
        })
    }

    fn query<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let body = json!({"PhoneNumber": sms.phone, "OutId": sms.out_id});
            let v = self.post("/sms/query", body).await?;
            code_ok(&v)?;
            Ok(v.get("SmsSendDetailDTOs")
                .and_then(Value::as_array)
                .is_some_and(|ds| {
                    ds.iter()
                        .any(|d| d.get("OutId").and_then(Value::as_str) == Some(sms.out_id.as_str()))
                }))
        })
    }
}
