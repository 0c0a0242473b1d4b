#!/bin/sh
# The demo behind `make demo`: pymaildrop's main job -- delivery mode, as
# Postfix runs it -- on an embedded default: a Courier userdb file and a mail
# directory under the checkout (./demo/).  Two users, bob and carol; bob's
# .mailfilter sorts lists and spam into Maildir++ folders.
#
# pymaildrop never delivers as root, so when this runs as root the demo users
# get the uid of "nobody" (and ./demo must be reachable by that user).
set -eu
top=$(pwd)
demo="$top/demo"
bin="$top/.venv/bin/pymaildrop"

if [ "$(id -u)" = 0 ]; then
    uid=$(id -u nobody); gid=$(id -g nobody)
else
    uid=$(id -u); gid=$(id -g)
fi

rm -rf "$demo"
mkdir -p "$demo/home/bob" "$demo/home/carol"
printf 'bob@example.com\tuid=%s|gid=%s|home=%s|mail=%s\n' \
    "$uid" "$gid" "$demo/home/bob" "$demo/home/bob/Maildir/" > "$demo/userdb"
printf 'carol@example.com\tuid=%s|gid=%s|home=%s|quota=100000S\n' \
    "$uid" "$gid" "$demo/home/carol" >> "$demo/userdb"
chmod 600 "$demo/userdb"
cat > "$demo/pymaildrop.cf" <<CF
# pymaildrop's configuration for the demo (see README "Configuration")
user_databases = userdb:$demo/userdb
maildroprc = $demo/maildroprc
CF
printf '# the system filter, run before every user'"'"'s .mailfilter\nlogfile "$HOME/delivery.log"\n' \
    > "$demo/maildroprc"
cp "$top/samples/demo/bob.mailfilter" "$demo/home/bob/.mailfilter"
chmod 600 "$demo/home/bob/.mailfilter"
chmod 755 "$demo" "$demo/home"
chown -R "$uid:$gid" "$demo/home"

echo "== pymaildrop lookup bob@example.com"
"$bin" lookup --config "$demo/pymaildrop.cf" bob@example.com
for m in "$top"/samples/messages/*.eml; do
    "$bin" --config "$demo/pymaildrop.cf" -d bob@example.com < "$m"
    echo "bob   <- $(basename "$m"): exit $?"
done
"$bin" --config "$demo/pymaildrop.cf" -d carol@example.com < "$top/samples/messages/lunch.eml"
echo "carol <- lunch.eml: exit $?"
set +e
"$bin" --config "$demo/pymaildrop.cf" -d nobody-here@example.com < "$top/samples/messages/lunch.eml"
echo "nobody-here <- lunch.eml: exit $? (67: unknown user, Postfix bounces it)"
set -e
echo
echo "== delivered (under ./demo):"
cd "$demo" && find home -type f -path '*/Maildir/*' | sort
echo
echo "== home/bob/delivery.log:"
cat home/bob/delivery.log
