-- The keys of a user's roles, kept on the user's row by a trigger on user_roles, so that
-- reading a user (GET /users/{id}, the hottest authenticated read) is one primary-key
-- lookup instead of a join and a sort per request. Role keys never change once made.
ALTER TABLE identity.users ADD COLUMN role_keys text[] NOT NULL DEFAULT '{}';

CREATE FUNCTION identity.refresh_user_role_keys() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    uid uuid := CASE WHEN TG_OP = 'DELETE' THEN OLD.user_id ELSE NEW.user_id END;
BEGIN
    UPDATE identity.users u
    SET role_keys = array(SELECT r.key FROM identity.user_roles ur JOIN identity.roles r ON r.id = ur.role_id
                          WHERE ur.user_id = uid ORDER BY r.key)
    WHERE u.id = uid;
    RETURN NULL;
END $$;

CREATE TRIGGER user_roles_keys AFTER INSERT OR DELETE OR UPDATE OF role_id ON identity.user_roles
    FOR EACH ROW EXECUTE FUNCTION identity.refresh_user_role_keys();

UPDATE identity.users u
SET role_keys = array(SELECT r.key FROM identity.user_roles ur JOIN identity.roles r ON r.id = ur.role_id
                      WHERE ur.user_id = u.id ORDER BY r.key);
