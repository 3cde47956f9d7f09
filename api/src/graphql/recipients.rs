//! `Recipient`, the recipient list, nomination, vetting and reveal.
use super::aid::Recipient;
use super::context::{PageInfo, actor, id_of, services};
use super::enums::{PiiField, RecipientKind, RecipientStatus, VerificationMethod};
use super::errors::ApiResult;
use super::loaders::{
    CampaignLoader, CategoryLoader, DisbursementsOfRecipient, FlagsLoader, HistoryLoader, OrgLoader, prime,
};
use async_graphql::{Context, ID, InputObject, Object, SimpleObject, Upload};
use domain::DomainError;
use domain::recipients::{self as rules, Nomination, RecipientFields, RecipientPatch};

/// Loads, for a whole page at once, what the query asks of its recipients, into the request's
/// DataLoader caches: the nested resolvers then find everything cached. One query per
/// relation, all sent side by side (batching by timing alone would split a 200-row page into
/// many small queries, each after a wait).
async fn prefetch(ctx: &Context<'_>, rows: &[rules::RecipientView]) -> ApiResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let node = ctx.look_ahead().field("edges").field("node");
    let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
    let distinct = |f: fn(&rules::RecipientView) -> i64| {
        let mut v: Vec<i64> = rows.iter().map(f).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let wanted = |field: &str, keys: &dyn Fn() -> Vec<i64>| {
        if node.field(field).exists() {
            keys()
        } else {
            Vec::new()
        }
    };
    let nominated = node.field("nominatedBy");
    let (_, orgs, _, _, _, _) = futures::try_join!(
        prime::<CategoryLoader>(ctx, wanted("category", &|| distinct(|r| r.category_id))),
        prime::<OrgLoader>(ctx, wanted("nominatedBy", &|| distinct(|r| r.nominated_by))),
        prime::<CampaignLoader>(ctx, wanted("campaign", &|| distinct(|r| r.campaign_id))),
        prime::<DisbursementsOfRecipient>(ctx, wanted("disbursements", &|| ids.clone())),
        prime::<FlagsLoader>(ctx, wanted("flags", &|| ids.clone())),
        prime::<HistoryLoader>(ctx, wanted("history", &|| ids.clone())),
    )?;
    if nominated.field("parent").exists() {
        let mut parents: Vec<i64> = orgs.values().filter_map(|o| o.parent_id).collect();
        parents.sort_unstable();
        parents.dedup();
        prime::<OrgLoader>(ctx, parents).await?;
    }
    Ok(())
}

#[derive(SimpleObject)]
pub struct RecipientEdge {
    cursor: String,
    node: Recipient,
}

#[derive(SimpleObject)]
pub struct RecipientConnection {
    edges: Vec<RecipientEdge>,
    page_info: PageInfo,
    total_count: i32,
}

#[derive(InputObject, Default)]
pub struct RecipientFilter {
    category_code: Option<String>,
    status: Option<RecipientStatus>,
    nominated_by_id: Option<ID>,
    /// A name prefix, or an exact ID number.
    search: Option<String>,
    /// Only recipients with (true) or without (false) a warning flag.
    flagged: Option<bool>,
}

#[derive(InputObject)]
pub struct NominateInput {
    campaign_id: ID,
    category_code: String,
    kind: RecipientKind,
    name: String,
    id_number: Option<String>,
    phone: Option<String>,
    bank_name: Option<String>,
    bank_account: Option<String>,
    nominated_by_id: ID,
}

/// Fields to change while the recipient is NOMINATED; absent fields stay as they are.
#[derive(InputObject)]
pub struct UpdateRecipientInput {
    category_code: Option<String>,
    name: Option<String>,
    id_number: Option<String>,
    phone: Option<String>,
    bank_name: Option<String>,
    bank_account: Option<String>,
}

#[derive(Default)]
pub struct RecipientQuery;

#[Object]
impl RecipientQuery {
    async fn recipients(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        filter: Option<RecipientFilter>,
        #[graphql(default = 50)] first: Option<i32>,
        after: Option<String>,
    ) -> ApiResult<RecipientConnection> {
        let s = services(ctx);
        let f = filter.unwrap_or_default();
        let filter = rules::RecipientFilter {
            category_code: f.category_code,
            status: f.status.map(Into::into),
            nominated_by: match &f.nominated_by_id {
                Some(id) => Some(id_of(id, "推荐单位")?),
                None => None,
            },
            search: f.search,
            flagged: f.flagged,
        };
        let page = rules::list(
            s,
            actor(ctx)?,
            id_of(&campaign_id, "项目")?,
            &filter,
            super::context::page_args(ctx, first, after.as_deref()),
        )
        .await?;
        prefetch(ctx, &page.items).await?;
        let (edges, page_info, total_count) = super::context::connection(
            page,
            |r| r.id,
            |cursor, r| RecipientEdge {
                cursor,
                node: Recipient(r),
            },
        );
        Ok(RecipientConnection {
            edges,
            page_info,
            total_count,
        })
    }

    async fn recipient(&self, ctx: &Context<'_>, id: ID) -> ApiResult<Option<Recipient>> {
        let s = services(ctx);
        let actor = actor(ctx)?;
        let Ok(id) = id_of(&id, "慰问对象") else {
            return Ok(None);
        };
        match rules::get(s, actor, id).await {
            Ok(r) => Ok(Some(Recipient::from(r))),
            Err(DomainError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }
}

#[derive(SimpleObject)]
pub struct ImportRowError {
    row: i32,
    field: Option<String>,
    message: String,
}

#[derive(SimpleObject)]
pub struct ImportResult {
    imported: i32,
    rejected: i32,
    /// Every invalid row (the first 1000; `rejected` counts them all).
    errors: Vec<ImportRowError>,
}

/// Copies an upload to a file of our own (the importer reads from a path), off the async
/// threads; the caller removes it.
async fn save_upload(ctx: &Context<'_>, file: &Upload) -> ApiResult<std::path::PathBuf> {
    let s = services(ctx);
    let value = file
        .value(ctx)
        .map_err(|_| DomainError::validation("file", "无法读取上传的文件"))?;
    let dir = s.settings.data_dir.join("uploads");
    let path = dir.join(format!("import-{}.tmp", rand_suffix()));
    let target = path.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let mut src = value.content;
        let mut dst = std::fs::File::create(&target)?;
        std::io::copy(&mut src, &mut dst)?;
        Ok(())
    })
    .await
    .map_err(DomainError::internal)?
    .map_err(DomainError::internal)?;
    Ok(path)
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}-{:x}", std::process::id())
}

#[derive(Default)]
pub struct RecipientMutation;

#[Object]
impl RecipientMutation {
    async fn nominate_recipient(&self, ctx: &Context<'_>, input: NominateInput) -> ApiResult<Recipient> {
        let s = services(ctx);
        let n = Nomination {
            campaign_id: id_of(&input.campaign_id, "项目")?,
            category_code: input.category_code,
            fields: RecipientFields {
                kind: Some(input.kind.into()),
                name: input.name,
                id_number: input.id_number,
                phone: input.phone,
                bank_name: input.bank_name,
                bank_account: input.bank_account,
            },
            nominated_by: id_of(&input.nominated_by_id, "推荐单位")?,
        };
        Ok(Recipient::from(rules::nominate(s, actor(ctx)?, n).await?))
    }

    /// `.xlsx` or `.csv` (UTF-8, UTF-8 with BOM, GBK), header row in Chinese or English.
    async fn import_recipients(
        &self,
        ctx: &Context<'_>,
        campaign_id: ID,
        file: Upload,
    ) -> ApiResult<ImportResult> {
        let s = services(ctx);
        let actor = actor(ctx)?;
        let campaign_id = id_of(&campaign_id, "项目")?;
        let path = save_upload(ctx, &file).await?;
        let result = domain::recipients::import::import_file(s, actor, campaign_id, path.clone()).await;
        let _ = tokio::fs::remove_file(&path).await;
        let report = result?;
        Ok(ImportResult {
            imported: report.imported as i32,
            rejected: report.rejected as i32,
            errors: report
                .errors
                .into_iter()
                .map(|e| ImportRowError {
                    row: e.row as i32,
                    field: e.field.map(String::from),
                    message: e.message,
                })
                .collect(),
        })
    }

    /// Edits a nomination while it is NOMINATED and the campaign is in SCREENING.
    async fn update_recipient(
        &self,
        ctx: &Context<'_>,
        id: ID,
        input: UpdateRecipientInput,
    ) -> ApiResult<Recipient> {
        let s = services(ctx);
        let patch = RecipientPatch {
            category_code: input.category_code,
            name: input.name,
            id_number: input.id_number,
            phone: input.phone,
            bank_name: input.bank_name,
            bank_account: input.bank_account,
        };
        Ok(Recipient::from(
            rules::update(s, actor(ctx)?, id_of(&id, "慰问对象")?, patch).await?,
        ))
    }

    async fn verify_recipient(
        &self,
        ctx: &Context<'_>,
        id: ID,
        method: VerificationMethod,
        note: Option<String>,
    ) -> ApiResult<Recipient> {
        let s = services(ctx);
        Ok(Recipient::from(
            rules::verify(
                s,
                actor(ctx)?,
                id_of(&id, "慰问对象")?,
                method.into(),
                note.as_deref(),
            )
            .await?,
        ))
    }

    async fn reject_recipient(&self, ctx: &Context<'_>, id: ID, reason: String) -> ApiResult<Recipient> {
        let s = services(ctx);
        Ok(Recipient::from(
            rules::reject(s, actor(ctx)?, id_of(&id, "慰问对象")?, &reason).await?,
        ))
    }

    /// ADMIN, CASEWORKER, FINANCE; every reveal is written to the audit log.
    async fn reveal_recipient(&self, ctx: &Context<'_>, id: ID, field: PiiField) -> ApiResult<String> {
        let s = services(ctx);
        Ok(rules::reveal(s, actor(ctx)?, id_of(&id, "慰问对象")?, field.into()).await?)
    }
}
