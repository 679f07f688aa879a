#!/usr/bin/env bash
# Shell-level tests of sealctl's transaction and query commands against a
# 4-node cluster of real sealchaind processes (one cluster for every case).
# Prints cmocka-style summary lines, so tests/run counts each case. Every
# process started here is recorded by PID, dies with this shell
# (setpriv --pdeathsig) and is killed by the EXIT trap.
set -u
BUILD=${BUILD:-build}
S="$BUILD/sealctl"
T=$(mktemp -d /tmp/sealctl-chain.XXXXXX)
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do
    [ -n "$p" ] && kill -KILL "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT
unset SEALCHAIN_SOCKET

# ---- helpers ------------------------------------------------------------------

rc() {
  "$@" >"$T/out" 2>"$T/err"
  echo $?
}
want() {
  local code=$1 got
  shift
  got=$(rc "$@")
  if [ "$got" != "$code" ]; then
    echo "'$*' exited $got, wanted $code; stdout:"
    cat "$T/out"
    echo "stderr:"
    cat "$T/err"
    return 1
  fi
}
one_json() {
  [ "$(jq -s 'length' <"$T/out")" = 1 ] || { echo "not one JSON value:"; cat "$T/out"; return 1; }
  jq -e "$1" <"$T/out" >/dev/null || { echo "JSON fails $1:"; cat "$T/out"; return 1; }
}
err_has() {
  grep -qF -- "$1" "$T/err" || { echo "stderr lacks '$1':"; cat "$T/err"; return 1; }
}
out_has() {
  grep -qF -- "$1" "$T/out" || { echo "stdout lacks '$1':"; cat "$T/out"; return 1; }
}
field() { jq -r "$1" <"$T/out"; }

sock() { echo "$T/net/node$1/node.sock"; }
admin() { echo "$T/net/node$1/admin.key"; }
key() { "$S" keygen --out "$T/$1.key" >/dev/null && "$S" --json pubkey "$T/$1.key" | jq -r .public_key; }

# A valid unified social credit code (GB 32100-2015) from 17 characters.
credit_code() {
  local alpha=0123456789ABCDEFGHJKLMNPQRTUWXY w=(1 3 9 27 19 26 16 17 20 29 25 13 8 24 10 30 28)
  local s=$1 sum=0 i c v
  for ((i = 0; i < 17; i++)); do
    c=${s:i:1}
    v=${alpha%%"$c"*}
    sum=$((sum + ${#v} * w[i]))
  done
  echo "$s${alpha:$(((31 - sum % 31) % 31)):1}"
}

# sc NODE KEY ARGS...: sealctl --json at node NODE signed by key file KEY ("-": none).
sc() {
  local n=$1 k=$2
  shift 2
  if [ "$k" = - ]; then
    "$S" --json --node "$(sock "$n")" "$@"
  else
    "$S" --json --node "$(sock "$n")" --key "$k" "$@"
  fi
}
# ok NODE KEY ARGS...: must exit 0 (stdout in $T/out).
ok() { want 0 sc "$@"; }
# refused TEXT NODE KEY ARGS...: must exit 1 with TEXT on stderr.
refused() {
  local text=$1
  shift
  want 1 sc "$@" || return 1
  err_has "$text"
}

# ---- the cluster ------------------------------------------------------------------

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
start_cluster() {
  local base i tries
  for tries in 1 2 3 4 5 6 7 8 9 10; do
    base=$((20000 + RANDOM % 12000))
    port_free $base && port_free $((base + 1)) && port_free $((base + 2)) && port_free $((base + 3)) && break
  done
  "$S" testnet --nodes 4 --dir "$T/net" --base-port $base --chain-id cli-chain >/dev/null || return 1
  for i in 0 1 2 3; do start_node $i || return 1; done
  for i in 0 1 2 3; do wait_up $i || return 1; done
}
start_node() {
  setpriv --pdeathsig KILL "$BUILD/sealchaind" --config "$T/net/node$1/node.ini" \
    >>"$T/net/node$1/log" 2>&1 &
  PIDS[$1]=$!
}
stop_node() {
  kill -TERM "${PIDS[$1]}" && wait "${PIDS[$1]}"
  local st=$?
  PIDS[$1]=
  [ $st = 0 ] || { echo "node $1 exited $st on SIGTERM"; return 1; }
}
wait_up() {
  local i
  for i in $(seq 1 100); do
    if "$S" --json --node "$(sock "$1")" status >"$T/st" 2>/dev/null &&
      [ "$(jq .peers_connected <"$T/st")" = 3 ]; then return 0; fi
    sleep 0.1
  done
  echo "node $1 did not come up"
  return 1
}

# State shared by the cases, in the order they run.
EORG=$(credit_code 91350100M00010000)
FORG=$(credit_code 91110000MA0000001)

setup_orgs_and_seals() {
  EADM=$(key eadmin) && CUST=$(key cust) && U=$(key u) && SU=$(key s) && P1=$(key p1) &&
    P2=$(key p2) && P3=$(key p3) && FADM=$(key fadmin) && FU=$(key fu) && ESEAL=$(key eseal) &&
    FSEAL=$(key fseal) && X=$(key x) || return 1
  # authority A (node0) files enterprise E; authority B (node1) files F
  ok 0 "$(admin 0)" org register --id "$EORG" --name '甲公司 "E" Ltd' --admin "$EADM" --wait || return 1
  one_json "keys == [\"error\",\"height\",\"org_id\",\"status\",\"tx\"] and .status == \"committed\"
    and .org_id == \"$EORG\" and .error == null and (.height | type == \"number\")" || return 1
  ok 1 "$(admin 1)" org register --id "$FORG" --name '乙公司' --admin "$FADM" --wait || return 1
  # E's admin registers a contract seal and names a custodian
  ok 0 "$T/eadmin.key" seal register --org "$EORG" --type contract --name '合同专用章' \
    --seal-pub "$ESEAL" --custodian "$CUST" --wait || return 1
  one_json '(keys == ["error","height","seal_id","status","tx"]) and .seal_id == .tx' || return 1
  ESID=$(field .seal_id)
  ok 1 "$T/fadmin.key" seal register --org "$FORG" --type official --name '乙公司公章' \
    --seal-pub "$FSEAL" --wait || return 1
  FSID=$(field .seal_id)
  # the custodian grants U with 2-of-3 approvals, S silent sealing; F's admin grants FU
  ok 2 "$T/cust.key" seal grant --seal "$ESID" --to "$U" --approvers "$P1,$P2,$P3" \
    --threshold 2 --wait || return 1
  one_json '(keys == ["error","grant","height","status","tx"]) and .grant == .tx' || return 1
  UGRANT=$(field .grant)
  ok 3 "$T/cust.key" seal grant --seal "$ESID" --to "$SU" --wait || return 1
  ok 1 "$T/fadmin.key" seal grant --seal "$FSID" --to "$FU" --wait || return 1
}

org_and_seal_show_report_every_contract_field() {
  ok 2 - org show "$EORG" || return 1
  one_json "(.org_id == \"$EORG\") and .name == \"甲公司 \\\"E\\\" Ltd\" and .admin == \"$EADM\"
    and .authority == 0 and (.registered_height >= 1)" || return 1
  ok 3 - seal show "$ESID" || return 1
  one_json "(.seal_id == \"$ESID\") and .org == \"$EORG\" and .type == \"contract\"
    and .name == \"合同专用章\" and .seal_public_key == \"$ESEAL\" and .custodian == \"$CUST\"
    and .status == \"active\" and .valid_from == null and .valid_to == null
    and (.history | length == 1) and .history[0].action == \"register\"
    and (.history[0] | has(\"height\") and has(\"time\") and has(\"tx\"))
    and (.history[0].time | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}(\\\\.[0-9]{3})?Z$\"))
    and (.grants | length == 2)
    and (.grants[0] | keys == [\"approvers\",\"expires\",\"grant\",\"max_uses\",\"revoked\",\"threshold\",\"to\",\"uses\"])
    and .grants[0].to == \"$U\" and .grants[0].threshold == 2 and (.grants[0].approvers == [\"$P1\",\"$P2\",\"$P3\"])
    and .grants[0].revoked == false and .grants[1].threshold == 0 and .grants[1].approvers == []" || return 1
  # human form: aligned, short nested hashes, full seal id on top
  want 0 "$S" --node "$(sock 3)" seal show "$ESID" || return 1
  grep -qE "^seal_id +$ESID$" "$T/out" || { cat "$T/out"; return 1; }
  grep -qE "^ +tx +[0-9a-f]{8}…$" "$T/out" || { cat "$T/out"; return 1; }
  # unknown org and seal: exit 1
  refused "unknown organisation" 0 - org show 91350100M000100Y43 || return 1
  refused "unknown seal" 0 - seal show "$(printf '%064d' 7)" || return 1
}

cross_agency_story() {
  echo "U seals contract.pdf: pending under the 2-of-3 rule" >&2
  printf '%s\n' "contract between E and F, 2026" >"$T/contract.pdf"
  ok 0 "$T/u.key" seal use --seal "$ESID" --seal-key "$T/eseal.key" --doc "$T/contract.pdf" --wait || return 1
  one_json "(keys == [\"doc_hash\",\"error\",\"grant\",\"height\",\"signature_file\",\"status\",\"tx\",\"usage\",\"usage_status\"])
    and .usage == .tx and .grant == \"$UGRANT\" and .usage_status == \"pending\"
    and .signature_file == \"$T/contract.pdf.seal\" and .doc_hash == \"$(sha256sum "$T/contract.pdf" | cut -c1-64)\"" || return 1
  UUSE=$(field .usage)
  [ -s "$T/contract.pdf.seal" ] || { echo "no signature file"; return 1; }
  refused "use is not effective" 1 - proof export --usage "$UUSE" --out "$T/pending.proof" || return 1
  [ ! -e "$T/pending.proof" ] || { echo "wrote a proof of a pending use"; return 1; }
  want 1 sc 2 - verify --doc "$T/contract.pdf" || return 1
  one_json '.valid == false and (.signatures[0].reasons | any(test("pending, not effective")))' || return 1
  echo "a rejection and two approvals" >&2
  ok 0 "$T/p1.key" seal reject --usage "$UUSE" --reason '不同意 "draft"' --wait || return 1
  one_json '(keys == ["error","height","status","tx","usage_status"]) and .usage_status == "pending"' || return 1
  ok 1 "$T/p2.key" seal approve --usage "$UUSE" --wait || return 1
  one_json '.usage_status == "pending"' || return 1
  ok 2 "$T/p3.key" seal approve --usage "$UUSE" --wait || return 1
  one_json '.usage_status == "effective"' || return 1
  local eff=$(field .height)
  ok 3 - usage --doc "$T/contract.pdf" || return 1
  one_json "(.usages | length == 1) and (.usages[0] | keys - [\"effective_time\"] == [\"approvals\",\"effective_height\",\"grant\",\"height\",\"org\",\"rejections\",\"seal_id\",\"time\",\"usage\",\"usage_status\",\"user\"])
    and .usages[0].usage_status == \"effective\" and .usages[0].effective_height == $eff
    and .usages[0].approvals == [\"$P2\",\"$P3\"] and .usages[0].rejections == [\"$P1\"]
    and .usages[0].org == \"$EORG\" and .usages[0].user == \"$U\" and .usages[0].grant == \"$UGRANT\"" || return 1
  echo "S seals another document: effective at once" >&2
  echo "invoice 42" >"$T/other.txt"
  ok 1 "$T/s.key" seal use --seal "$ESID" --seal-key "$T/eseal.key" --doc "$T/other.txt" --wait || return 1
  one_json '.usage_status == "effective"' || return 1
  SUSE=$(field .usage)
  ok 2 - usage --doc-hash "$(sha256sum "$T/other.txt" | cut -c1-64)" || return 1
  one_json "(.usages[0].effective_height == .usages[0].height) and .usages[0].approvals == []" || return 1
  echo "F seals the same contract; agency C's node verifies both" >&2
  ok 1 "$T/fu.key" seal use --seal "$FSID" --seal-key "$T/fseal.key" --doc "$T/contract.pdf" --wait || return 1
  FUSE=$(field .usage)
  ok 2 - verify --doc "$T/contract.pdf" || return 1
  one_json "(keys - [\"as_of_height\",\"doc_hash\",\"reasons\",\"signatures\",\"valid\"] == [])
    and .valid == true and .reasons == [] and (.signatures | length == 2) and (.as_of_height >= $eff)
    and (.signatures | map(.seal.seal_id) == [\"$ESID\", \"$FSID\"])
    and (.signatures[0].usage | .usage == \"$UUSE\" and .effective_height == $eff and .usage_status == \"effective\" and (.time | test(\"Z$\")) and (.height < $eff))
    and (.signatures[0].seal | .org == \"$EORG\" and .org_name == \"甲公司 \\\"E\\\" Ltd\" and .type == \"contract\" and .name == \"合同专用章\" and .status == \"active\")
    and all(.signatures[]; .valid and .reasons == [] and (.usage.effective_signers | length >= 3))" || return 1
  # the human report a clerk files
  want 0 "$S" --node "$(sock 2)" verify --doc "$T/contract.pdf" || return 1
  head -1 "$T/out" | grep -q "验签报告" || { cat "$T/out"; return 1; }
  grep -qE "^Verdict +VALID" "$T/out" && out_has "Seal signature 2 of 2: VALID" &&
    out_has "合同专用章 (contract)" && out_has "Vouched for by  validators" &&
    out_has "Organisation    甲公司 \"E\" Ltd ($EORG)" && out_has "Checked by        validator 2 (agency2)" &&
    out_has "User key        $U" && out_has "Effective       block $eff at " || { cat "$T/out"; return 1; }
  echo "the seal is suspended; a new use is refused, old uses still verify" >&2
  ok 0 "$T/cust.key" seal suspend --seal "$ESID" --reason '挂失 "lost"' --wait || return 1
  echo "addendum" >"$T/addendum.txt"
  ok 1 "$T/fu.key" seal use --seal "$FSID" --seal-key "$T/fseal.key" --doc "$T/addendum.txt" --wait || return 1
  cp "$T/addendum.txt.seal" "$T/before.seal"
  refused "seal is suspended" 3 "$T/s.key" seal use --seal "$ESID" --seal-key "$T/eseal.key" \
    --doc "$T/addendum.txt" --wait || return 1
  one_json '.status == "rejected" and .signature_file == null and .usage_status == null' || return 1
  cmp -s "$T/addendum.txt.seal" "$T/before.seal" || { echo "refused use changed the file"; return 1; }
  ok 3 - verify --doc "$T/contract.pdf" || return 1
  one_json '.valid == true and .signatures[0].seal.status == "suspended" and .signatures[0].seal.status_then == "active"' || return 1
  want 0 "$S" --node "$(sock 3)" verify --doc "$T/contract.pdf" || return 1
  out_has "active when used, suspended now" || return 1
  ok 3 - seal show "$ESID" || return 1
  one_json '.status == "suspended" and (.history | map(.action) == ["register","suspend"]) and .history[1].reason == "挂失 \"lost\""' || return 1
  echo "a tampered document and a forged signature file do not verify" >&2
  cp "$T/contract.pdf" "$T/tampered.pdf" && echo " " >>"$T/tampered.pdf"
  want 1 sc 1 - verify --doc "$T/tampered.pdf" --sig "$T/contract.pdf.seal" || return 1
  one_json '.valid == false and (.signatures | length == 2) and all(.signatures[]; .valid == false and (.reasons | any(test("another document"))))
    and (.reasons | length >= 1)' || return 1
  # forge: flip one byte of U's seal signature (the file is two ~254-byte records)
  cp "$T/contract.pdf.seal" "$T/forged.seal"
  printf '\xff' | dd of="$T/forged.seal" bs=1 seek=200 conv=notrunc 2>/dev/null
  cmp -s "$T/forged.seal" "$T/contract.pdf.seal" && { echo "forgery changed nothing"; return 1; }
  want 1 sc 1 - verify --doc "$T/contract.pdf" --sig "$T/forged.seal" || return 1
  # every reason, not only the first: the seal signature fails, and it is not the one on chain
  one_json '.valid == false and (.signatures[0].valid == false)
    and (.signatures[0].reasons | any(test("seal signature does not verify")) and any(test("carries another seal signature")))
    and .signatures[1].valid == true and .signatures[1].reasons == []' || return 1
  head -c 100 /dev/urandom >"$T/garbage.seal"
  want 1 sc 1 - verify --doc "$T/contract.pdf" --sig "$T/garbage.seal" || return 1
  one_json '.valid == false and .signatures == [] and (.reasons[0] | test("signature file invalid"))' || return 1
  : >"$T/empty.seal"
  want 1 sc 1 - verify --doc "$T/contract.pdf" --sig "$T/empty.seal" || return 1
  echo "a proof bundle exported at node B" >&2
  ok 1 - proof export --usage "$UUSE" --out "$T/u.proof" || return 1
  [ -s "$T/u.proof" ] || return 1
  ok 1 - proof export --usage "$FUSE" --out "$T/f.proof" || return 1
  refused "not effective" 1 - proof export --usage "$(printf '%064d' 0)" --out "$T/x.proof" ||
    err_has "unknown use" || return 1
  [ ! -e "$T/x.proof" ] || { echo "wrote a proof of nothing"; return 1; }
}

# Every refusal of the contract's list, each an exit 1 with the ledger's words.
refusals_exit_1_with_the_reason() {
  local bad x
  # unknown org or seal; signer without the right
  refused "unknown organisation" 0 "$(admin 0)" seal register --org 91350100M000100Y43 --type other \
    --name n --seal-pub "$(key k1)" --wait || return 1
  refused "unknown seal" 0 "$T/cust.key" seal grant --seal "$(printf '%064d' 5)" --to "$U" --wait || return 1
  refused "signer lacks the right" 0 "$T/x.key" seal register --org "$EORG" --type other --name n \
    --seal-pub "$(key k2)" --wait || return 1
  refused "signer lacks the right" 0 "$T/u.key" seal grant --seal "$FSID" --to "$U" --wait || return 1
  # a bad credit code: sealctl refuses before submitting
  bad="${EORG:0:17}$( [ "${EORG:17:1}" = 0 ] && echo 1 || echo 0)"
  refused "bad unified social credit code" 0 "$(admin 0)" org register --id "$bad" --name n \
    --admin "$X" --wait || return 1
  err_has "check character should be '${EORG:17:1}'" || return 1
  refused "bad unified social credit code" 0 "$(admin 0)" org register --id short --name n --admin "$X" || return 1
  refused "organisation already filed" 0 "$(admin 0)" org register --id "$EORG" --name n --admin "$X" --wait || return 1
  # a seal key already registered; a second official seal
  refused "seal key already registered" 1 "$T/fadmin.key" seal register --org "$FORG" --type other \
    --name n --seal-pub "$FSEAL" --wait || return 1
  refused "already has an official seal" 1 "$T/fadmin.key" seal register --org "$FORG" --type official \
    --name n2 --seal-pub "$(key k3)" --wait || return 1
  # destroyed; outside its validity window
  ok 0 "$T/eadmin.key" seal register --org "$EORG" --type other --name d --seal-pub "$(key dseal)" --wait || return 1
  local dsid=$(field .seal_id)
  ok 0 "$T/eadmin.key" seal grant --seal "$dsid" --to "$SU" --max-uses 1 --wait || return 1
  ok 0 "$T/eadmin.key" seal destroy --seal "$dsid" --reason 销毁 --wait || return 1
  echo x >"$T/d.txt"
  refused "seal is destroyed" 0 "$T/s.key" seal use --seal "$dsid" --seal-key "$T/dseal.key" --doc "$T/d.txt" --wait || return 1
  [ ! -e "$T/d.txt.seal" ] || { echo "a refused use wrote a file"; return 1; }
  ok 0 "$T/eadmin.key" seal register --org "$EORG" --type other --name w --seal-pub "$(key wseal)" \
    --valid-from 2099-01-01T00:00:00Z --wait || return 1
  local wsid=$(field .seal_id)
  ok 0 "$T/eadmin.key" seal grant --seal "$wsid" --to "$SU" --wait || return 1
  refused "outside its validity window" 0 "$T/s.key" seal use --seal "$wsid" --seal-key "$T/wseal.key" --doc "$T/d.txt" --wait || return 1
  # grants: missing, revoked, expired, used up; a bad seal signature
  ok 0 "$T/eadmin.key" seal register --org "$EORG" --type finance --name g --seal-pub "$(key gseal)" --wait || return 1
  local gsid=$(field .seal_id)
  refused "no such grant for this seal and user" 0 "$T/s.key" seal use --seal "$gsid" --seal-key "$T/gseal.key" --doc "$T/d.txt" --wait || return 1
  ok 0 "$T/eadmin.key" seal grant --seal "$gsid" --to "$SU" --max-uses 1 --wait || return 1
  refused "bad seal signature" 0 "$T/s.key" seal use --seal "$gsid" --seal-key "$T/eseal.key" --doc "$T/d.txt" --wait || return 1
  ok 0 "$T/s.key" seal use --seal "$gsid" --seal-key "$T/gseal.key" --doc "$T/d.txt" --wait || return 1
  cp "$T/d.txt.seal" "$T/d.before"
  echo y >"$T/e.txt"
  refused "grant has no uses left" 0 "$T/s.key" seal use --seal "$gsid" --seal-key "$T/gseal.key" --doc "$T/e.txt" --wait || return 1
  ok 0 "$T/eadmin.key" seal revoke-grant --seal "$gsid" --to "$SU" --wait || return 1
  one_json 'keys == ["error","height","status","tx"]' || return 1
  refused "grant revoked or replaced" 0 "$T/s.key" seal use --seal "$gsid" --seal-key "$T/gseal.key" --doc "$T/e.txt" --wait || return 1
  x=$(( $(date +%s) + 2 ))
  ok 0 "$T/eadmin.key" seal grant --seal "$gsid" --to "$SU" --expires "$x" --wait || return 1
  sleep 3
  refused "grant expired" 0 "$T/s.key" seal use --seal "$gsid" --seal-key "$T/gseal.key" --doc "$T/e.txt" --wait || return 1
  [ ! -e "$T/e.txt.seal" ] || { echo "a refused use wrote a file"; return 1; }
  # the same seal twice on one file: refused before anything is submitted
  ok 0 "$T/eadmin.key" seal grant --seal "$gsid" --to "$SU" --wait || return 1
  want 1 sc 0 "$T/s.key" seal use --seal "$gsid" --seal-key "$T/gseal.key" --doc "$T/d.txt" --wait || return 1
  err_has "already holds a signature of this seal" || return 1
  cmp -s "$T/d.txt.seal" "$T/d.before" || { echo "file changed"; return 1; }
}

approvals_refusals_exit_1() {
  echo "pending" >"$T/p.txt"
  # E's seal is suspended by now: resume it first (custodian suspended it)
  ok 0 "$T/cust.key" seal resume --seal "$ESID" --wait || return 1
  ok 0 "$T/u.key" seal use --seal "$ESID" --seal-key "$T/eseal.key" --doc "$T/p.txt" --wait || return 1
  local use=$(field .usage)
  refused "not an approver" 0 "$T/x.key" seal approve --usage "$use" --wait || return 1
  ok 0 "$T/p1.key" seal approve --usage "$use" --wait || return 1
  refused "already approved or rejected" 0 "$T/p1.key" seal reject --usage "$use" --wait || return 1
  # an approval while the seal is no longer valid
  ok 0 "$T/cust.key" seal suspend --seal "$ESID" --wait || return 1
  refused "seal or grant no longer valid" 0 "$T/p2.key" seal approve --usage "$use" --wait || return 1
  ok 0 "$T/cust.key" seal resume --seal "$ESID" --wait || return 1
  ok 0 "$T/p2.key" seal approve --usage "$use" --wait || return 1
  one_json '.usage_status == "effective"' || return 1
  refused "no longer pending" 0 "$T/p3.key" seal approve --usage "$use" --wait || return 1
  refused "unknown use" 0 "$T/p3.key" seal approve --usage "$(printf '%064d' 3)" --wait || return 1
  # resume needs at least the suspender's role: the admin suspends, the custodian cannot resume
  ok 0 "$T/eadmin.key" seal suspend --seal "$ESID" --wait || return 1
  refused "resume needs at least the role" 0 "$T/cust.key" seal resume --seal "$ESID" --wait || return 1
  refused "not suspended" 0 "$T/eadmin.key" seal resume --seal "$FSID" --wait 2>/dev/null ||
    refused "signer lacks the right" 0 "$T/eadmin.key" seal resume --seal "$FSID" --wait || return 1
}

# Two lifecycle transactions built on the same history entry: the second is
# stale beside the first. Two of the four nodes stop, so nothing commits
# while both are built; the node refuses the destruction as stale at submit
# (the suspension waits in its mempool), the nodes restart and the chain
# commits the suspension.
stale_lifecycle_is_refused() {
  local sid p w i
  ok 0 "$T/eadmin.key" seal register --org "$EORG" --type other --name st --seal-pub "$(key st)" --wait || return 1
  sid=$(field .seal_id)
  ok 0 - status || return 1
  p=$(field .primary)
  stop_node $(((p + 1) % 4)) || return 1
  stop_node $(((p + 2) % 4)) || return 1
  ok "$p" "$T/eadmin.key" seal suspend --seal "$sid" || return 1
  one_json '.status == "pending" and .height == null' || return 1
  sc "$p" "$T/eadmin.key" seal destroy --seal "$sid" --wait >"$T/b" 2>"$T/be" &
  w=$!
  sleep 0.3
  start_node $(((p + 1) % 4)) && start_node $(((p + 2) % 4)) || return 1
  wait $w
  [ $? = 1 ] || { cat "$T/b" "$T/be"; return 1; }
  grep -q "stale lifecycle transaction" "$T/be" || { cat "$T/be"; return 1; }
  jq -e '.status == "rejected" and (.error | test("stale"))' "$T/b" >/dev/null || { cat "$T/b"; return 1; }
  wait_up $(((p + 1) % 4)) && wait_up $(((p + 2) % 4)) || return 1
  # the destruction was refused at once: the suspension commits after the restart
  for i in $(seq 1 300); do
    ok 3 - seal show "$sid" || return 1
    jq -e '.status == "suspended"' <"$T/out" >/dev/null && break
    sleep 0.1
  done
  one_json '.status == "suspended" and (.history | map(.action) == ["register","suspend"])' || return 1
}

status_block_tx_report_every_contract_field() {
  ok 1 - status || return 1
  one_json 'keys == ["chain_id","height","last_block_hash","last_block_time","mempool_txs","node","org_id","peers_connected","primary","syncing","validators","view"]
    and .chain_id == "cli-chain" and .node == 1 and .org_id == "agency1" and .validators == 4
    and .peers_connected == 3 and .syncing == false and (.last_block_hash | test("^[0-9a-f]{64}$"))
    and (.last_block_time | test("Z$")) and (.height >= 5) and (.primary == .view % 4)' || return 1
  local h=$(field .height)
  ok 2 - block 2 || return 1
  one_json 'keys == ["commit","hash","height","prev_hash","proposer","state_root","time","tx_root","txs","view"]
    and .height == 2 and (.txs | length >= 1) and (.commit.signers | length >= 3)
    and (.proposer == .view % 4) and (.time | test("Z$"))' || return 1
  local tx=$(field '.txs[0]') hash=$(field .hash)
  ok 3 - block 3 || return 1
  one_json ".prev_hash == \"$hash\"" || return 1
  ok 0 - tx "$tx" || return 1
  one_json "keys == [\"hash\",\"height\",\"index\",\"signer\",\"time\",\"type\"] and .hash == \"$tx\" and .height == 2 and .index == 0
    and (.type | test(\"^(org_register|seal_register|seal_grant)$\"))" || return 1
  want 0 "$S" --node "$(sock 0)" block 2 || return 1
  grep -qE "^txs +[0-9a-f]{8}…" "$T/out" || { cat "$T/out"; return 1; }
  refused "no block at height" 0 - block $((h + 1000)) || return 1
  refused "no committed transaction" 0 - tx "$(printf '%064d' 9)" || return 1
}

bad_arguments_exit_2_and_help_works() {
  local c
  for c in "org register" "seal register" "seal grant" "seal revoke-grant" "seal suspend" "seal resume" \
    "seal destroy" "seal use" "seal approve" "seal reject" status block tx "org show" "seal show" usage \
    verify "proof export" "proof verify"; do
    # shellcheck disable=SC2086
    want 0 "$S" $c --help || return 1
    grep -q "^usage: sealctl .* $c" "$T/out" || { cat "$T/out"; return 1; }
    want 2 "$S" --node "$(sock 0)" $c --no-such-option || return 1
    err_has "usage: sealctl" || return 1
  done
  want 0 "$S" --help || return 1
  out_has "seal approve" && out_has "proof verify" || return 1
  local n="--node $(sock 0)" k="--key $T/eadmin.key"
  want 2 "$S" $n $k org register --id "$EORG" --name n || return 1
  want 2 "$S" $n $k org register --id "$EORG" --name n --admin abc || return 1
  want 2 "$S" $n $k seal register --org "$EORG" --type stamp --name n --seal-pub "$X" || return 1
  want 2 "$S" $n $k seal register --org "$EORG" --type other --name n --seal-pub "$X" --valid-to tomorrow || return 1
  want 2 "$S" $n $k seal grant --seal "$ESID" --to "$U" --approvers "$P1" || return 1
  want 2 "$S" $n $k seal grant --seal "$ESID" --to "$U" --approvers "$P1,zz" --threshold 1 || return 1
  want 2 "$S" $n $k seal grant --seal "$ESID" --to "$U" --max-uses -1 || return 1
  want 2 "$S" $n $k seal suspend || return 1
  want 2 "$S" $n $k seal resume --seal "$ESID" --reason x || return 1
  want 2 "$S" $n $k seal approve --usage 12 || return 1
  want 2 "$S" $n block || return 1
  want 2 "$S" $n block x || return 1
  want 2 "$S" $n tx 1234 || return 1
  want 2 "$S" $n seal show nothex || return 1
  want 2 "$S" $n usage || return 1
  want 2 "$S" $n usage --doc "$T/contract.pdf" --doc-hash "$ESID" || return 1
  want 2 "$S" $n verify || return 1
  want 2 "$S" $n verify --doc "$T/no-such-file" || return 1
  want 2 "$S" $n verify --doc "$T/contract.pdf" --sig "$T/no-such.seal" || return 1
  want 2 "$S" $n proof export --usage "$ESID" || return 1
  want 2 "$S" proof verify "$T/u.proof" || return 1
  want 2 "$S" proof verify --genesis "$T/no-such-genesis" "$T/u.proof" || return 1
  want 2 "$S" proof verify --genesis "$T/net/genesis.ini" "$T/no-such-bundle" || return 1
  # keys: missing --key, a missing key file, a key file open to others, a malformed one
  want 2 "$S" $n seal suspend --seal "$ESID" || return 1
  err_has "--key KEYFILE is required" || return 1
  want 2 "$S" $n --key "$T/none.key" seal suspend --seal "$ESID" || return 1
  cp "$T/x.key" "$T/open.key" && chmod 644 "$T/open.key"
  want 2 "$S" $n --key "$T/open.key" seal suspend --seal "$ESID" || return 1
  err_has "has mode 0644; must be 0600 or stricter" || return 1
  want 2 "$S" $n --key "$T/x.key" seal use --seal "$ESID" --seal-key "$T/open.key" --doc "$T/p.txt" || return 1
  err_has "has mode 0644" || return 1
  printf 'ed25519-seed nothex\n' >"$T/bad.key" && chmod 600 "$T/bad.key"
  want 2 "$S" $n --key "$T/bad.key" seal suspend --seal "$ESID" || return 1
  want 2 "$S" $n --key "$T/x.key" seal use --seal "$ESID" --seal-key "$T/eseal.key" --doc "$T/no-such-doc" || return 1
  # a signature file that cannot be written: usage error before submitting
  want 2 "$S" $n --key "$T/s.key" seal use --seal "$ESID" --seal-key "$T/eseal.key" --doc "$T/p.txt" \
    --out "$T/no/such/dir/p.seal" --wait || return 1
  err_has "not writable" || return 1
  # a signature file that is not one: usage error before submitting
  echo junk >"$T/junk.txt.seal" && echo doc >"$T/junk.txt"
  want 2 "$S" $n --key "$T/s.key" seal use --seal "$ESID" --seal-key "$T/eseal.key" --doc "$T/junk.txt" --wait || return 1
  [ "$(cat "$T/junk.txt.seal")" = junk ] || return 1
}

unreachable_node_exits_3_naming_the_socket() {
  want 3 "$S" --node "$T/nobody.sock" status || return 1
  err_has "$T/nobody.sock" || return 1
  want 3 "$S" --node "$T/nobody.sock" --key "$T/x.key" seal suspend --seal "$ESID" --wait || return 1
  err_has "$T/nobody.sock" || return 1
  want 3 "$S" --node "$T/nobody.sock" verify --doc "$T/contract.pdf" || return 1
  want 3 "$S" status || return 1
  err_has "SEALCHAIN_SOCKET" || return 1
  SEALCHAIN_SOCKET=$(sock 2) want 0 "$S" status || return 1
}

json_names_with_quotes_and_chinese_are_valid() {
  local org
  org=$(credit_code 91440300MA5000002)
  ok 2 "$(admin 2)" org register --id "$org" --name $'丙 "C" \\ 公司\ttab' --admin "$X" --wait 2>/dev/null
  # a tab is a control character: the ledger refuses the name; the output is still one JSON value
  jq -e . "$T/out" >/dev/null || { cat "$T/out"; return 1; }
  # an org id that is not UTF-8 comes back in the error: still valid JSON, exit 1
  want 1 sc 0 "$T/eadmin.key" seal register --org $'\xff\xfe' --type other --name n --seal-pub "$X" --wait || return 1
  one_json '.status == "rejected" and (.error | length > 0)' || return 1
  ok 2 "$(admin 2)" org register --id "$org" --name '丙 "C" \ 公司' --admin "$X" --wait || return 1
  ok 3 - org show "$org" || return 1
  one_json '.name == "丙 \"C\" \\ 公司" and .authority == 2' || return 1
}

# Last: every node stops (SIGTERM, exit 0); the bundle verifies with none running.
proof_verifies_offline_and_fails_on_any_change() {
  local i
  for i in 0 1 2 3; do stop_node $i || return 1; done
  want 3 "$S" --node "$(sock 0)" status || return 1
  want 0 "$S" --json proof verify --genesis "$T/net/genesis.ini" "$T/u.proof" || return 1
  one_json "keys == [\"doc_hash\",\"effective_height\",\"height\",\"org\",\"reasons\",\"seal_id\",\"time\",\"valid\"]
    and .valid == true and .reasons == [] and .seal_id == \"$ESID\" and .org == \"$EORG\"
    and .doc_hash == \"$(sha256sum "$T/contract.pdf" | cut -c1-64)\" and .effective_height > .height
    and (.time | test(\"Z$\"))" || return 1
  want 0 "$S" --json proof verify --genesis "$T/net/genesis.ini" "$T/f.proof" || return 1
  one_json ".org == \"$FORG\" and .effective_height == .height" || return 1
  if command -v strace >/dev/null; then
    # (LeakSanitizer cannot run under ptrace: leaks are checked by the runs below)
    ASAN_OPTIONS=detect_leaks=0 strace -f -e trace=socket,connect -o "$T/trace" "$S" proof verify --genesis "$T/net/genesis.ini" "$T/u.proof" >/dev/null || return 1
    ! grep -qE "socket\(|connect\(" "$T/trace" || { echo "proof verify opened a socket:"; cat "$T/trace"; return 1; }
  fi
  want 0 "$S" proof verify --genesis "$T/net/genesis.ini" "$T/u.proof" || return 1
  grep -qE "^valid +yes$" "$T/out" || { cat "$T/out"; return 1; }
  # any one byte changed: spread over the whole bundle
  local len pos step b
  len=$(stat -c %s "$T/u.proof")
  step=$((len / 97 + 1))
  for ((pos = 0; pos < len; pos += step)); do
    cp "$T/u.proof" "$T/t.proof"
    b=$(od -An -tu1 -j $pos -N1 "$T/t.proof" | tr -d ' ')
    printf "\\$(printf '%03o' $(((b + 1) % 256)))" | dd of="$T/t.proof" bs=1 seek=$pos conv=notrunc 2>/dev/null
    want 1 "$S" --json proof verify --genesis "$T/net/genesis.ini" "$T/t.proof" || { echo "byte $pos"; return 1; }
    one_json '.valid == false and (.reasons | length >= 1) and .seal_id == null' || return 1
  done
  cp "$T/u.proof" "$T/t.proof" && printf '\0' >>"$T/t.proof"
  want 1 "$S" proof verify --genesis "$T/net/genesis.ini" "$T/t.proof" || return 1
  head -c $((len - 1)) "$T/u.proof" >"$T/t.proof"
  want 1 "$S" proof verify --genesis "$T/net/genesis.ini" "$T/t.proof" || return 1
  # another chain's genesis
  "$S" testnet --nodes 4 --dir "$T/other" --chain-id cli-chain >/dev/null || return 1
  want 1 "$S" --json proof verify --genesis "$T/other/genesis.ini" "$T/u.proof" || return 1
  one_json '.valid == false' || return 1
}

tests=(
  setup_orgs_and_seals
  org_and_seal_show_report_every_contract_field
  cross_agency_story
  refusals_exit_1_with_the_reason
  approvals_refusals_exit_1
  stale_lifecycle_is_refused
  status_block_tx_report_every_contract_field
  bad_arguments_exit_2_and_help_works
  unreachable_node_exits_3_naming_the_socket
  json_names_with_quotes_and_chinese_are_valid
  proof_verifies_offline_and_fails_on_any_change
)
passed=0
failed=()
echo "[==========] Running ${#tests[@]} test(s)."
if ! start_cluster >"$T/log" 2>&1; then
  sed 's/^/    /' "$T/log"
  for i in 0 1 2 3; do tail -5 "$T/net/node$i/log" 2>/dev/null; done
  echo "[  FAILED  ] cluster set-up"
  echo "[  PASSED  ] 0 test(s)."
  echo "[  FAILED  ] ${#tests[@]} test(s), listed below:"
  exit 1
fi
for t in "${tests[@]}"; do
  echo "[ RUN      ] $t"
  if "$t" >"$T/log" 2>&1; then
    echo "[       OK ] $t"
    passed=$((passed + 1))
  else
    sed 's/^/    /' "$T/log"
    echo "[  FAILED  ] $t"
    failed+=("$t")
  fi
done
echo "[==========] ${#tests[@]} test(s) run."
echo "[  PASSED  ] $passed test(s)."
if [ ${#failed[@]} -gt 0 ]; then
  echo "[  FAILED  ] ${#failed[@]} test(s), listed below:"
  for t in "${failed[@]}"; do echo "[  FAILED  ] $t"; done
  exit 1
fi
