//! The performance evaluation (绩效评价) of a campaign: its step, its indicator template with the
//! evaluators' scores, the satisfaction surveys (满意度回访), the samples they are drawn on, and
//! the narrative sections of the report.
//!
//! `evaluations` is keyed by the campaign (one evaluation per campaign); a campaign in REVIEW
//! without a row is in PREPARING with the default template, and the row is written at the first
//! change. `figures` holds the computed figures frozen when the evaluation is ARCHIVED (JSON);
//! `evaluation_indicators.frozen_*` the computed indicators frozen with them. Every table feeds
//! answers and is tracked by `data_version`.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table(Evaluations::Table)
                .col(big_integer(Evaluations::CampaignId).primary_key())
                // PREPARING, FIELDWORK, SCORING, FEEDBACK, ARCHIVED
                .col(string_len(Evaluations::Step, 20))
                // the computed figures frozen at ARCHIVED (JSON), null before
                .col(text_null(Evaluations::Figures))
                .col(timestamp_with_time_zone(Evaluations::CreatedAt))
                .col(timestamp_with_time_zone(Evaluations::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Evaluations::Table, Evaluations::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(EvaluationIndicators::Table)
                .col(big_pk_auto(EvaluationIndicators::Id))
                .col(big_integer(EvaluationIndicators::CampaignId))
                // BUDGET_EXECUTION, OUTPUT.QUANTITY, BENEFIT.SOCIAL …
                .col(string_len(EvaluationIndicators::Code, 60))
                .col(string_len(EvaluationIndicators::Name, 100))
                // the first-level indicator this one is part of (null for first-level ones)
                .col(string_len_null(EvaluationIndicators::ParentCode, 60))
                .col(integer(EvaluationIndicators::Position))
                // weights and scores in hundredths of a point (exact on both databases)
                .col(integer(EvaluationIndicators::WeightCenti))
                // computed from the data (true) or scored by an evaluator (false)
                .col(boolean(EvaluationIndicators::Computed))
                .col(integer_null(EvaluationIndicators::ScoreCenti))
                .col(text_null(EvaluationIndicators::Comment))
                .col(big_integer_null(EvaluationIndicators::ScoredBy))
                .col(timestamp_with_time_zone_null(EvaluationIndicators::ScoredAt))
                // what a computed indicator measured, frozen at ARCHIVED
                .col(text_null(EvaluationIndicators::Measured))
                .foreign_key(
                    ForeignKey::create()
                        .from(EvaluationIndicators::Table, EvaluationIndicators::CampaignId)
                        .to(Evaluations::Table, Evaluations::CampaignId),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_evaluation_indicators_campaign_code")
                .table(EvaluationIndicators::Table)
                .col(EvaluationIndicators::CampaignId)
                .col(EvaluationIndicators::Code)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SurveyResponses::Table)
                .col(big_pk_auto(SurveyResponses::Id))
                .col(big_integer(SurveyResponses::CampaignId))
                .col(big_integer(SurveyResponses::RecipientId))
                // PHONE, ONSITE, WECHAT
                .col(string_len(SurveyResponses::Channel, 10))
                .col(boolean(SurveyResponses::Satisfied))
                .col(text_null(SurveyResponses::Comment))
                .col(big_integer(SurveyResponses::RecordedBy))
                .col(timestamp_with_time_zone(SurveyResponses::RecordedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(SurveyResponses::Table, SurveyResponses::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(SurveyResponses::Table, SurveyResponses::RecipientId)
                        .to(Recipients::Table, Recipients::Id),
                )
                .to_owned(),
        )
        .await?;
        // one answer per recipient per campaign: a new answer replaces the old
        m.create_index(
            Index::create()
                .name("ux_survey_responses_campaign_recipient")
                .table(SurveyResponses::Table)
                .col(SurveyResponses::CampaignId)
                .col(SurveyResponses::RecipientId)
                .unique()
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Samples::Table)
                .col(big_pk_auto(Samples::Id))
                .col(big_integer(Samples::CampaignId))
                .col(big_integer(Samples::Seed))
                .col(integer(Samples::Size))
                // served recipients the sample was drawn from
                .col(integer(Samples::Population))
                // strata (category × nominating organisation) that were not empty
                .col(integer(Samples::Strata))
                .col(big_integer(Samples::CreatedBy))
                .col(timestamp_with_time_zone(Samples::CreatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Samples::Table, Samples::CampaignId)
                        .to(Campaigns::Table, Campaigns::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ix_samples_campaign")
                .table(Samples::Table)
                .col(Samples::CampaignId)
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(SampleMembers::Table)
                .col(big_integer(SampleMembers::SampleId))
                .col(big_integer(SampleMembers::RecipientId))
                // order of the draw
                .col(integer(SampleMembers::Position))
                .primary_key(
                    Index::create()
                        .col(SampleMembers::SampleId)
                        .col(SampleMembers::RecipientId),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(SampleMembers::Table, SampleMembers::SampleId)
                        .to(Samples::Table, Samples::Id),
                )
                .foreign_key(
                    ForeignKey::create()
                        .from(SampleMembers::Table, SampleMembers::RecipientId)
                        .to(Recipients::Table, Recipients::Id),
                )
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table(Narratives::Table)
                .col(big_pk_auto(Narratives::Id))
                .col(big_integer(Narratives::CampaignId))
                // CONCLUSION, EXPERIENCE, PROBLEMS, SUGGESTIONS
                .col(string_len(Narratives::Section, 20))
                .col(text(Narratives::Text))
                // still the draft written from the figures (no evaluator has edited it)
                .col(boolean(Narratives::Drafted))
                .col(big_integer_null(Narratives::UpdatedBy))
                .col(timestamp_with_time_zone(Narratives::UpdatedAt))
                .foreign_key(
                    ForeignKey::create()
                        .from(Narratives::Table, Narratives::CampaignId)
                        .to(Evaluations::Table, Evaluations::CampaignId),
                )
                .to_owned(),
        )
        .await?;
        m.create_index(
            Index::create()
                .name("ux_narratives_campaign_section")
                .table(Narratives::Table)
                .col(Narratives::CampaignId)
                .col(Narratives::Section)
                .unique()
                .to_owned(),
        )
        .await?;
        for t in [
            "evaluations",
            "evaluation_indicators",
            "survey_responses",
            "samples",
            "sample_members",
            "narratives",
        ] {
            crate::track_data_version(m, t).await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table(Narratives::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(SampleMembers::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Samples::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(SurveyResponses::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(EvaluationIndicators::Table).to_owned())
            .await?;
        m.drop_table(Table::drop().table(Evaluations::Table).to_owned())
            .await?;
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Evaluations {
    Table,
    CampaignId,
    Step,
    Figures,
    CreatedAt,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum EvaluationIndicators {
    Table,
    Id,
    CampaignId,
    Code,
    Name,
    ParentCode,
    Position,
    WeightCenti,
    Computed,
    ScoreCenti,
    Comment,
    ScoredBy,
    ScoredAt,
    Measured,
}

#[derive(DeriveIden)]
enum SurveyResponses {
    Table,
    Id,
    CampaignId,
    RecipientId,
    Channel,
    Satisfied,
    Comment,
    RecordedBy,
    RecordedAt,
}

#[derive(DeriveIden)]
enum Samples {
    Table,
    Id,
    CampaignId,
    Seed,
    Size,
    Population,
    Strata,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
enum SampleMembers {
    Table,
    SampleId,
    RecipientId,
    Position,
}

#[derive(DeriveIden)]
enum Narratives {
    Table,
    Id,
    CampaignId,
    Section,
    Text,
    Drafted,
    UpdatedBy,
    UpdatedAt,
}

#[derive(DeriveIden)]
enum Campaigns {
    Table,
    Id,
}

#[derive(DeriveIden)]
enum Recipients {
    Table,
    Id,
}
