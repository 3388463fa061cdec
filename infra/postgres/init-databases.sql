-- Run once by the official postgres image on an empty data directory
-- (/docker-entrypoint-initdb.d): one database per module, owned by the rathaus user
-- (POSTGRES_USER). Temporal's auto-setup creates its own two databases.
CREATE DATABASE portal;
CREATE DATABASE input;
CREATE DATABASE eakte;
CREATE DATABASE output;
CREATE DATABASE broker;
CREATE DATABASE opendata;
