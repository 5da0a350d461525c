//! Reading other tools' data into lrt's shapes (pure parsing; the service writes).

pub mod lightrag;
