# Request semantics of the running xenstored (issue 14 item 4), sourced by
# checks.sh in both boots: requests no xenstore-* tool sends, with odd
# arguments, over the daemon's socket (xq-xsraw), each answer printed as
#   XSREQ: <request> <arguments> -> <reply type> <reply payload>
# The first boot asks Xen's C daemon, the second swxl's; the run script
# compares the two lists line by line (xenstored-requests-as-xen): Xen's
# own answers on the same host are what swxl's must be. Nothing here
# changes a domain that exists (domain 999 never does; SET_TARGET 0 0
# gives dom0, which has every right, itself as target), and the one node
# made (/xq-perm) is removed again.
xsreq() {  # xsreq NAME TYPE [ARG...]
    xsr_name=$1; shift
    xsr_out=$(xq-xsraw /run/xenstored/socket "$@" 2>&1)
    shift
    echo "XSREQ: $xsr_name $(printf '<%s>' "$@") -> $xsr_out"
}
for a in 0 32752 32753 65535 999 -1 x 4294967296; do xsreq IS_DOMAIN_INTRODUCED 17 "$a"; done
xsreq IS_DOMAIN_INTRODUCED 17 0 0
xsreq IS_DOMAIN_INTRODUCED 17
for a in 0 32752 -1 x 7abc; do xsreq GET_DOMAIN_PATH 10 "$a"; done
xsreq GET_DOMAIN_PATH 10 5 6
for a in 0 "" 32752 999 -1; do xsreq RELEASE 9 "$a"; xsreq RESUME 18 "$a"; done
xsreq RELEASE 9 999 1
for a in "999 0" "0 999" "32752 0" "0 32752" "0" "0 0"; do xsreq SET_TARGET 19 $a; done
# Permissions naming a domain the hypervisor does not have: such an owner
# is ENOENT; such a later entry is kept (and shown) but grants nothing.
xsreq MKDIR 12 /xq-perm
xsreq SET_PERMS 14 /xq-perm n999
xsreq SET_PERMS 14 /xq-perm n0 r999
xsreq GET_PERMS 3 /xq-perm
xsreq SET_PERMS 14 @releaseDomain n999
xsreq RM 13 /xq-perm
