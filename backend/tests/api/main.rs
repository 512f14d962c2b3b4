//! In-process API tests (spawn_app on port 0, a fresh database each).

mod db;
