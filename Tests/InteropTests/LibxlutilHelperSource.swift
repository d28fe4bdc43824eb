// The C helper of the libxlutil differential test, kept as text so that the
// test target stays Swift-only: the test writes it out and builds it with the
// system's `cc` against Debian's libxlutil.

let libxlutilDumpSource = #"""
/*
 * xlu_dump: reads xl.cfg files and disk specs with Xen's own libxlutil and
 * prints what it understood, for swxl's differential test.
 *
 *   xlu_dump cfg FILE      every key's effective value, one per line:
 *                            KEY<TAB>VALUE
 *                          where VALUE is  s:"escaped string"  or  l[ v, v ]
 *                          then "status<TAB>N" (the xlu_cfg_readfile result)
 *   xlu_dump disk SPEC...  the libxl_device_disk that xlu_disk_parse makes
 *                          from the specs, one field per line, or "status N"
 *   xlu_dump pci SPEC      the libxl_device_pci that xlu_pci_parse_spec_string
 *                          makes, one field per line, then "status N"
 *   xlu_dump rate RATE     the vif rate limit xlu_vif_parse_rate makes
 *                          (bytes per interval, interval in us), "status N"
 *
 * libxlutil has no call to list the keys of a config, so this walks the
 * settings list through the layout of libxlutil's (4.17) private structs,
 * restated here; only the first (newest) setting of each name counts,
 * as xlu_cfg_get_* see it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libxlutil.h>

struct XLU_ConfigList { int avalues; int nvalues; XLU_ConfigValue **values; };
struct dump_loc { int first_line, first_column, last_line, last_column; };
struct XLU_ConfigValue {
    enum XLU_ConfigValueType type;
    union { char *string; XLU_ConfigList list; } u;
    struct dump_loc loc;
};
struct dump_setting {
    struct dump_setting *next;
    char *name;
    XLU_ConfigValue *value;
    enum XLU_Operation op;
    int lineno;
};
struct XLU_Config { struct dump_setting *settings; FILE *report; char *config_source; };

static void put_string(const char *s) {
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20 || *p >= 0x7f) printf("\\x%02x", *p);
        else putchar(*p);
    }
    putchar('"');
}

static void put_value(const XLU_ConfigValue *v) {
    if (v->type == XLU_STRING) {
        printf("s:");
        put_string(v->u.string);
    } else {
        printf("l[");
        for (int i = 0; i < v->u.list.nvalues; i++) {
            if (i) printf(", ");
            put_value(v->u.list.values[i]);
        }
        printf("]");
    }
}

static int dump_cfg(const char *file) {
    XLU_Config *cfg = xlu_cfg_init(stderr, file);
    if (!cfg) return 2;
    int rc = xlu_cfg_readfile(cfg, file);
    if (rc == 0) {
        for (struct dump_setting *s = cfg->settings; s; s = s->next) {
            int seen = 0;
            for (struct dump_setting *t = cfg->settings; t != s; t = t->next)
                if (!strcmp(t->name, s->name)) { seen = 1; break; }
            if (seen) continue;
            printf("%s\t", s->name);
            put_value(s->value);
            printf("\n");
        }
    }
    printf("status\t%d\n", rc);
    xlu_cfg_destroy(cfg);
    return 0;
}

static void field(const char *name, const char *value) {
    printf("%s\t", name);
    if (value) put_string(value); else printf("null");
    printf("\n");
}

static int dump_disk(int n, const char *const *specs) {
    XLU_Config *cfg = xlu_cfg_init(stderr, "spec");
    if (!cfg) return 2;
    libxl_device_disk disk;
    libxl_device_disk_init(&disk);
    int rc = xlu_disk_parse(cfg, n, specs, &disk);
    if (rc == 0) {
        field("pdev_path", disk.pdev_path);
        field("vdev", disk.vdev);
        printf("format\t%s\n", libxl_disk_format_to_string(disk.format));
        printf("backend\t%s\n", libxl_disk_backend_to_string(disk.backend));
        field("backend_domname", disk.backend_domname);
        field("script", disk.script);
        printf("readwrite\t%d\n", disk.readwrite);
        printf("is_cdrom\t%d\n", disk.is_cdrom);
        printf("removable\t%d\n", disk.removable);
        printf("direct_io_safe\t%d\n", disk.direct_io_safe);
        printf("discard_enable\t%s\n", libxl_defbool_to_string(disk.discard_enable));
    }
    printf("status\t%d\n", rc);
    libxl_device_disk_dispose(&disk);
    xlu_cfg_destroy(cfg);
    return 0;
}

static int dump_pci(const char *spec) {
    XLU_Config *cfg = xlu_cfg_init(stderr, "spec");
    if (!cfg) return 2;
    libxl_device_pci pci;
    libxl_device_pci_init(&pci);
    int rc = xlu_pci_parse_spec_string(cfg, &pci, spec);
    if (rc == 0) {
        printf("domain\t%d\nbus\t%d\ndev\t%d\nfunc\t%d\nvdevfn\t%u\nvfunc_mask\t%u\n",
               pci.domain, pci.bus, pci.dev, pci.func, pci.vdevfn, pci.vfunc_mask);
        printf("permissive\t%d\nmsitranslate\t%d\nseize\t%d\npower_mgmt\t%d\n",
               pci.permissive, pci.msitranslate, pci.seize, pci.power_mgmt);
        printf("rdm_policy\t%s\n", libxl_rdm_reserve_policy_to_string(pci.rdm_policy));
        field("name", pci.name);
    }
    printf("status\t%d\n", rc);
    libxl_device_pci_dispose(&pci);
    xlu_cfg_destroy(cfg);
    return 0;
}

static int dump_rate(const char *rate) {
    XLU_Config *cfg = xlu_cfg_init(stderr, "rate");
    if (!cfg) return 2;
    libxl_device_nic nic;
    libxl_device_nic_init(&nic);
    int rc = xlu_vif_parse_rate(cfg, rate, &nic);
    if (rc == 0) {
        printf("bytes_per_interval\t%llu\ninterval_usecs\t%u\n",
               (unsigned long long)nic.rate_bytes_per_interval, nic.rate_interval_usecs);
    }
    printf("status\t%d\n", rc);
    libxl_device_nic_dispose(&nic);
    xlu_cfg_destroy(cfg);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 3 && !strcmp(argv[1], "cfg")) return dump_cfg(argv[2]);
    if (argc >= 2 && !strcmp(argv[1], "disk"))
        return dump_disk(argc - 2, (const char *const *)argv + 2);
    if (argc == 3 && !strcmp(argv[1], "pci")) return dump_pci(argv[2]);
    if (argc == 3 && !strcmp(argv[1], "rate")) return dump_rate(argv[2]);
    fprintf(stderr, "usage: xlu_dump cfg FILE | xlu_dump disk SPEC... | xlu_dump pci SPEC | xlu_dump rate RATE\n");
    return 2;
}
"""#
