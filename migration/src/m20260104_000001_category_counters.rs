//! Per-category counters (recipients, verified recipients, served recipients) kept on the
//! category row, so reading a campaign with its categories, or the size of its recipient list,
//! needs no counting: these are the most read pages of the system. The domain keeps them in step on every status change; this
//! migration fills them from the rows already there.
use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in COUNTERS {
            m.alter_table(
                Table::alter()
                    .table(Categories::Table)
                    .add_column(integer(col).default(0))
                    .to_owned(),
            )
            .await?;
        }
        m.get_connection()
            .execute_unprepared(
                "UPDATE categories SET \
                 recipient_count = (SELECT COUNT(*) FROM recipients r WHERE r.category_id = categories.id), \
                 verified_count = (SELECT COUNT(*) FROM recipients r \
                    WHERE r.category_id = categories.id AND r.status = 'VERIFIED'), \
                 served_count = (SELECT COUNT(*) FROM disbursements d \
                    WHERE d.category_id = categories.id AND d.status IN ('PAID', 'CONFIRMED'))",
            )
            .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for col in COUNTERS {
            m.alter_table(
                Table::alter()
                    .table(Categories::Table)
                    .drop_column(col)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}

const COUNTERS: [Categories; 3] = [
    Categories::RecipientCount,
    Categories::VerifiedCount,
    Categories::ServedCount,
];

#[derive(DeriveIden, Clone, Copy)]
enum Categories {
    Table,
    RecipientCount,
    VerifiedCount,
    ServedCount,
}
