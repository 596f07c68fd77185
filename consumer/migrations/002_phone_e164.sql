-- Members' phones in E.164 (shared/phone), as new members store them.
UPDATE consumer.members SET phone = platform.phone_e164(phone)
WHERE phone <> '' AND platform.phone_e164(phone) <> phone;

---- create above / drop below ----
-- E.164 is kept: the old forms cannot be told back apart.
