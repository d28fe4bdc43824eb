# libxl's JSON (issue 12 item 2), sourced by checks.sh in dom0 (busybox sh):
# what xl 4.17 prints for `create -n` and `list -l`, and swxl's output for
# the same configs and domains, each between
#   LIBXLJSON-BEGIN <name> / LIBXLJSON-END [nonl]
# ("nonl": the output did not end in a newline), which run extracts into
# WORKDIR/libxl-json/<name>. Names: xl-create-n-<cfg>, xl-list-l-<who>,
# xl-sxp-..., swxl-...; <who> is "xl" or "swxl", the toolstack that made the
# domain. swxl's output is compared with xl's here too: PASS when they are
# the same text (domid and uuid of a running domain masked); a difference is
# FAIL for the names in JSON_MUST_MATCH, TODO for the rest.
JSON_MUST_MATCH="libxl-json-create-n-guest libxl-json-create-n-vcpus-actions libxl-json-create-n-pvh-cmdline libxl-json-create-n-hvm libxl-json-create-n-disk-vif libxl-json-create-n-pv-vfb-channel libxl-json-create-n-maxvcpus-vfb-off libxl-json-create-n-pv-vkb libxl-json-list-l libxl-json-list-l-dev libxl-json-list-l-other-toolstack libxl-sxp-create-n-guest"
JSON_DIR=/tmp/libxl-json
mkdir -p $JSON_DIR

json_capture() {  # json_capture NAME CMD...: CMD's stdout, kept and printed between markers
    n=$1; shift
    "$@" > $JSON_DIR/$n.out 2> $JSON_DIR/$n.err
}
json_emit() {  # json_emit NAME: print a kept output between the markers
    f=$JSON_DIR/$1.out
    echo "LIBXLJSON-BEGIN $1"
    cat $f
    if [ -s $f ] && [ "$(tail -c1 $f | od -An -c | tr -d ' ')" != '\n' ]; then echo; echo "LIBXLJSON-END nonl"
    else echo "LIBXLJSON-END"; fi
}
json_mask() {  # the host facts two domains differ in: domid, uuid, the random half of a made-up MAC
    sed -e 's/^\( *"domid": \)[0-9]*/\1<D>/' -e 's/^\( *"mac": "00:16:3e:\)[0-9a-f:]*"/\1<MAC>"/' \
        -e 's/^\( *"uuid": \)"[-0-9a-f]*"/\1"<UUID>"/' \
        -e 's/^\((domid \)[0-9]*)/\1<D>)/' -e 's/^\( *(uuid \)[-0-9a-f]*)/\1<UUID>)/' "$1"
}
json_compare() {  # json_compare CHECK XLNAME SWXLNAME
    if [ ! -s $JSON_DIR/$3.out ]; then
        todo $1 "swxl printed nothing: $(head -c 200 $JSON_DIR/$3.err | tr '\n' ' ')"; return
    fi
    json_mask $JSON_DIR/$2.out > $JSON_DIR/$2.masked
    json_mask $JSON_DIR/$3.out > $JSON_DIR/$3.masked
    if cmp -s $JSON_DIR/$2.masked $JSON_DIR/$3.masked; then pass $1; return; fi
    # busybox diff: unified; the lines each side has alone
    diff -U0 $JSON_DIR/$2.masked $JSON_DIR/$3.masked | grep '^[-+]' | grep -v '^\(---\|+++\) ' > $JSON_DIR/$1.diff
    d=$(head -8 $JSON_DIR/$1.diff | tr '\n' ' ' | tr -s ' ')
    n=$(grep -c . $JSON_DIR/$1.diff)
    case " $JSON_MUST_MATCH " in
        *" $1 "*) fail $1 "$n lines differ (xl -, swxl +): $d" ;;
        *) todo $1 "$n lines differ (xl -, swxl +): $d" ;;
    esac
}

# info -n (issue 12 item 1): the CPU, device and NUMA topology as xl prints
# it, line for line (free memory masked: scrubbing may still move it).
if has_swxl info; then
    cxen-probe wait-scrub
    xl info -n > $JSON_DIR/xl-info-n.out 2>&1
    swxl info -n > $JSON_DIR/swxl-info-n.out 2>&1
    for f in xl swxl; do
        sed -e 's/^\(free_memory *:\).*/\1 <M>/' -e 's/^\( *[0-9]*: *[0-9]* *\)[0-9]*\( .*\)$/\1<M>\2/' $JSON_DIR/$f-info-n.out > $JSON_DIR/$f-info-n.masked
    done
    if d=$(diff $JSON_DIR/xl-info-n.masked $JSON_DIR/swxl-info-n.masked 2>&1); then pass info-n-matches-xl
    else fail info-n-matches-xl "xl (-) against swxl (+): $(echo "$d" | grep '^[-+][^-+]' | head -8 | tr '\n' ' ')"; fi
fi
# list -n: Domain-0's node affinity column, and list -c's pool column.
if has_swxl list; then
    ln_xl=$(xl list -n -c 0 2>&1 | sed -n '2s/.* \([^ ]*\) \([^ ]*\)$/\1 \2/p'); ln_swxl=$(swxl list -n -c 0 2>&1 | sed -n '2s/.* \([^ ]*\) \([^ ]*\)$/\1 \2/p')
    if [ -n "$ln_xl" ] && [ "$ln_xl" = "$ln_swxl" ]; then pass list-n-c-matches-xl "$ln_xl"
    else fail list-n-c-matches-xl "xl '$ln_xl', swxl '$ln_swxl'"; fi
fi

# create -n for the harness's guest and the configs under /etc/xen/libxl-json.
for cfg in $CFG /etc/xen/libxl-json/*.cfg; do
    b=$(basename $cfg .cfg)
    json_capture xl-create-n-$b xl create -n $cfg
    json_emit xl-create-n-$b
    if has_swxl create; then
        json_capture swxl-create-n-$b swxl create -n $cfg
        json_emit swxl-create-n-$b
        json_compare libxl-json-create-n-$b xl-create-n-$b swxl-create-n-$b
    fi
done

# list -l of a running domain made by xl, then of one made by swxl (same config).
cxen-probe wait-scrub
if xl create $CFG >$JSON_DIR/xl-create.out 2>&1; then
    d=$(domid_of guest)
    json_capture xl-list-l-xl xl list -l guest; json_emit xl-list-l-xl
    json_capture xl-list-l-all-xl xl list -l; json_emit xl-list-l-all-xl
    json_capture swxl-list-l-xl swxl list -l guest; json_emit swxl-list-l-xl
    # xl.conf's output_format="sxp": the SXP form of both
    cp /etc/xen/xl.conf /tmp/xl.conf.saved 2>/dev/null || : > /tmp/xl.conf.saved
    { cat /tmp/xl.conf.saved; echo 'output_format="sxp"'; } > /etc/xen/xl.conf
    json_capture xl-sxp-list-l-xl xl list -l guest; json_emit xl-sxp-list-l-xl
    json_capture xl-sxp-create-n-guest xl create -n $CFG; json_emit xl-sxp-create-n-guest
    json_capture swxl-sxp-create-n-guest swxl create -n $CFG; json_emit swxl-sxp-create-n-guest
    json_compare libxl-sxp-create-n-guest xl-sxp-create-n-guest swxl-sxp-create-n-guest
    cp /tmp/xl.conf.saved /etc/xen/xl.conf
    xl destroy guest; [ -n "$d" ] && wait_gone $d
else
    fail libxl-json-xl-create "$(tail -3 $JSON_DIR/xl-create.out | tr '\n' ' ')"
fi
if has_swxl create; then
    cxen-probe wait-scrub
    if swxl create $CFG >$JSON_DIR/swxl-create.out 2>&1; then
        d=$(domid_of guest)
        json_capture swxl-list-l-swxl swxl list -l guest; json_emit swxl-list-l-swxl
        json_capture xl-list-l-swxl xl list -l guest; json_emit xl-list-l-swxl
        # Each toolstack's list -l of the other's domain: nothing it can retrieve.
        json_compare libxl-json-list-l-other-toolstack xl-list-l-swxl swxl-list-l-xl
        if [ -s $JSON_DIR/xl-list-l-xl.out ]; then
            json_compare libxl-json-list-l xl-list-l-xl swxl-list-l-swxl
        fi
        swxl destroy guest || cxen-probe destroy $d; [ -n "$d" ] && wait_gone $d
    else
        fail libxl-json-swxl-create "$(tail -3 $JSON_DIR/swxl-create.out | tr '\n' ' ')"
    fi
fi

# list -l of a guest with a disk and a vif (checks.sh's DEVCFG, its bridge
# and image): what libxl adds to the devices at create, for the fixtures.
if [ -n "${DEVCFG:-}" ] && [ -f "$DEVCFG" ]; then
    cxen-probe wait-scrub
    if xl create $DEVCFG >$JSON_DIR/xl-create-dev.out 2>&1; then
        d=$(domid_of $DEVNAME)
        json_capture xl-list-l-dev-xl xl list -l $DEVNAME; json_emit xl-list-l-dev-xl
        xl destroy $DEVNAME; [ -n "$d" ] && wait_gone $d
    else
        todo libxl-json-list-l-dev "xl create: $(tail -2 $JSON_DIR/xl-create-dev.out | tr '\n' ' ')"
    fi
    cxen-probe wait-scrub
    if has_swxl create && swxl create -q $DEVCFG >$JSON_DIR/swxl-create-dev.out 2>&1; then
        d=$(domid_of $DEVNAME)
        json_capture swxl-list-l-dev-swxl swxl list -l $DEVNAME; json_emit swxl-list-l-dev-swxl
        [ -s $JSON_DIR/xl-list-l-dev-xl.out ] && json_compare libxl-json-list-l-dev xl-list-l-dev-xl swxl-list-l-dev-swxl
        swxl destroy $DEVNAME || cxen-probe destroy $d; [ -n "$d" ] && wait_gone $d
    fi
fi
