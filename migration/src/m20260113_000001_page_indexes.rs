//! Indexes that end in `id` for every filter a list is paged by (issue 13): a page of a
//! campaign's recipients of one status is then a range of `(campaign_id, status, id)` that stops
//! after the page, whatever the campaign's size or its place in the table (see
//! `domain::pagination::Lead` for how the statements make the planner use them). Each replaces
//! the index of the same columns without `id`, which it serves as well.
use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// (table, new index, its columns, the index it replaces).
const INDEXES: &[(&str, &str, &[&str], Option<&str>)] = &[
    (
        "recipients",
        "ix_recipients_campaign_status_id",
        &["campaign_id", "status", "id"],
        Some("ix_recipients_campaign_status"),
    ),
    (
        "recipients",
        "ix_recipients_campaign_nominator_id",
        &["campaign_id", "nominated_by", "id"],
        Some("ix_recipients_campaign_nominator"),
    ),
    (
        "recipients",
        "ix_recipients_campaign_category_id",
        &["campaign_id", "category_id", "id"],
        None,
    ),
    (
        "recipients",
        "ix_recipients_campaign_category_status_id",
        &["campaign_id", "category_id", "status", "id"],
        Some("ix_recipients_campaign_category"),
    ),
    (
        "disbursements",
        "ix_disbursements_campaign_status_id",
        &["campaign_id", "status", "id"],
        Some("ix_disbursements_campaign_status"),
    ),
    (
        "disbursements",
        "ix_disbursements_campaign_category_id",
        &["campaign_id", "category_id", "id"],
        None,
    ),
    (
        "audit_log",
        "ix_audit_log_target_id",
        &["target_type", "target_id", "id"],
        Some("ix_audit_log_target"),
    ),
    ("audit_log", "ix_audit_log_type_id", &["target_type", "id"], None),
    (
        "audit_log",
        "ix_audit_log_action_id",
        &["action", "id"],
        Some("ix_audit_log_action"),
    ),
    ("jobs", "ix_jobs_status_id", &["status", "id"], None),
    ("jobs", "ix_jobs_kind_id", &["kind", "id"], None),
];

fn create(table: &str, name: &str, cols: &[&str]) -> IndexCreateStatement {
    let mut i = Index::create();
    i.name(name).table(Alias::new(table)).if_not_exists();
    for c in cols {
        i.col(Alias::new(*c));
    }
    i.to_owned()
}

fn drop(table: &str, name: &str) -> IndexDropStatement {
    Index::drop()
        .name(name)
        .table(Alias::new(table))
        .if_exists()
        .to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, cols, replaces) in INDEXES {
            m.create_index(create(table, name, cols)).await?;
            if let Some(old) = replaces {
                m.drop_index(drop(table, old)).await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for (table, name, cols, replaces) in INDEXES.iter().rev() {
            if let Some(old) = replaces {
                // the replaced index had the same columns without the trailing id
                m.create_index(create(table, old, &cols[..cols.len() - 1]))
                    .await?;
            }
            m.drop_index(drop(table, name)).await?;
        }
        Ok(())
    }
}
