-- PostGIS (territories as polygons, distances: check-in radius, nearby shops, dedup by a
-- similar name close by) and pg_trgm (fuzzy names), for every domain's schema. They live
-- in public, where every search_path finds them. Debian: postgresql-15-postgis-3
-- (deploy/dev/install.sh installs it); pg_trgm comes with postgresql-15.
CREATE EXTENSION IF NOT EXISTS postgis WITH SCHEMA public;
CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public;
