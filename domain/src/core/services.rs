//! What every service call needs: the database, the settings (keys, limits) and the cipher
//! for personal data.
use crate::core::crypto::FieldCipher;
use crate::core::settings::Settings;
use std::sync::Arc;

#[derive(Clone)]
pub struct Services {
    pub db: sea_orm::DatabaseConnection,
    pub settings: Arc<Settings>,
    pub cipher: Arc<FieldCipher>,
}

impl Services {
    pub fn new(db: sea_orm::DatabaseConnection, settings: Arc<Settings>) -> Services {
        let cipher = Arc::new(FieldCipher::new(&settings.keys));
        Services { db, settings, cipher }
    }
}
