/* main: the `rigwatch` command line. Defaults, then --config.file, then flags; exit 0 ok, 1 runtime failure,
 * 2 bad usage or bad input. */
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <protobuf-c/protobuf-c.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rigwatch/agent.h"
#include "rigwatch/buildinfo.h"
#include "rigwatch/cmd_list.h"
#include "rigwatch/cmd_record.h"
#include "rigwatch/cmd_replay.h"
#include "rigwatch/cmd_top.h"
#include "rigwatch/config.h"
#include "rigwatch/fpbpf.h"
#include "rigwatch/log.h"
#include "rigwatch/model.h"
#include "rigwatch/pmu.h"
#include "rigwatch/webconfig.h"

#define EXIT_RUNTIME 1
#define EXIT_USAGE   2

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_hangup(int sig)
{
	(void)sig;
	reload_requested = 1;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *out)
{
	fputs("usage: rigwatch COMMAND [flags]\n"
	      "\n"
	      "commands:\n"
	      "  run                     the agent: discover, sample, score, serve HTTP, respond\n"
	      "  list [--output json]    the verdicts as a table: the running agent's (on --web.listen-address),\n"
	      "         [--local]        else scored here; the first line says which\n"
	      "  top [--local]           live view of the verdicts, highest score first; q quits\n"
	      "  record --output FILE     write samples of every target (or --cgroup PATH) to a trace\n"
	      "         [--cgroup PATH] [--duration S] [--label L]\n"
	      "  replay FILE             score a trace; verdict changes as JSON lines\n"
	      "  events                  the host's PMU as libpfm4 sees it, which events the kernel accepts, the FP path\n"
	      "  check-config [FILE]     validate a config file, the rules and model it names (what a start or a\n"
	      "                          reload loads), and print the effective configuration\n"
	      "  version                 version, build options, libraries\n"
	      "\n"
	      "flags:\n"
	      "  --config.file=FILE          INI-style configuration (see deploy/rigwatch.conf)\n"
	      "  --web.listen-address=ADDR   HTTP address (default 127.0.0.1:10170)\n"
	      "  --web.config.file=FILE      TLS and basic auth, exporter-toolkit format (see rigwatch(8))\n"
	      "  --interval=SECONDS          sampling interval (default 1; decimals allowed)\n"
	      "  --response=MODE             off (default), dry-run, freeze, kill\n"
	      "  --model=FILE                model file\n"
	      "  --cgroup-root=DIR           walk this cgroup2 tree instead of the mounted one\n"
	      "  --log.level=LEVEL           error, warn, info (default), debug\n"
	      "  --log.format=FORMAT         logfmt (default) or json\n"
	      "  --fp.path=PATH              FP evidence path: auto (default: eBPF where it loads, else ptrace), bpf, ptrace\n"
	      "  --output=json               list: the verdicts document as JSON instead of a table\n"
	      "  --local                     list, top: score here even when an agent answers\n"
	      "  -h, --help                  this text\n"
	      "  --version                   the version (as `rigwatch version`)\n",
	      out);
}

/* A flag that sets a config key: kept, so that a reload applies it over the file again. */
struct flag_set {
	const char *section, *key;
	char value[600];
};

struct cli {
	const char *command;
	const char *config_file;
	const char *positional;
	const char *output, *cgroup, *label;
	uint32_t duration_s;
	struct flag_set sets[16];
	unsigned nsets;
	bool local;
	bool log_level_set;          /* --log.level given */
	struct rw_config cfg;
};

/* Defaults, then the file, then the flags; then the web config file it names is checked. err gets the message. */
static int build_config(const struct cli *cli, struct rw_config *cfg, char *err, size_t errlen)
{
	char msg[768];
	rw_config_defaults(cfg);
	if (cli->config_file && rw_config_load(cfg, cli->config_file, err, errlen) < 0)
		return -EINVAL;
	for (unsigned i = 0; i < cli->nsets; i++) {
		if (rw_config_set(cfg, cli->sets[i].section, cli->sets[i].key, cli->sets[i].value, msg, sizeof msg) < 0) {
			snprintf(err, errlen, "flag: %s", msg);
			return -EINVAL;
		}
	}
	if (cfg->http_web_config_file[0]) {
		/* checked here too, so check-config and a reload report a bad web config as they do a bad config */
		struct rw_webconfig *wc = malloc(sizeof *wc);
		int r = wc ? rw_webconfig_load(wc, cfg->http_web_config_file, msg, sizeof msg) : -ENOMEM;
		free(wc);
		if (r < 0) {
			snprintf(err, errlen, "web config: %s", wc ? msg : strerror(ENOMEM));
			return -EINVAL;
		}
	}
	return 0;
}

enum { OPT_CONFIG = 256, OPT_LISTEN, OPT_INTERVAL, OPT_RESPONSE, OPT_MODEL, OPT_CGROUP_ROOT, OPT_LOGLEVEL, OPT_LOGFORMAT, OPT_FPPATH,
       OPT_OUTPUT, OPT_CGROUP, OPT_DURATION, OPT_LABEL, OPT_WEBCONFIG, OPT_VERSION, OPT_LOCAL };

/* --interval takes seconds as a decimal; the config keeps milliseconds. */
static int interval_to_ms(const char *text, char *ms, size_t len)
{
	int32_t q;
	if (rw_parse_q16(text, &q) < 0 || q <= 0)
		return -EINVAL;
	snprintf(ms, len, "%lld", ((long long)q * 1000 + 32768) >> 16);
	return 0;
}

static int parse_cli(int argc, char **argv, struct cli *cli)
{
	static const struct option opts[] = {
		{ "config.file", required_argument, NULL, OPT_CONFIG },
		{ "web.listen-address", required_argument, NULL, OPT_LISTEN },
		{ "web.config.file", required_argument, NULL, OPT_WEBCONFIG },
		{ "interval", required_argument, NULL, OPT_INTERVAL },
		{ "response", required_argument, NULL, OPT_RESPONSE },
		{ "model", required_argument, NULL, OPT_MODEL },
		{ "cgroup-root", required_argument, NULL, OPT_CGROUP_ROOT },
		{ "log.level", required_argument, NULL, OPT_LOGLEVEL },
		{ "log.format", required_argument, NULL, OPT_LOGFORMAT },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "local", no_argument, NULL, OPT_LOCAL },
		{ "fp.path", required_argument, NULL, OPT_FPPATH },
		{ "output", required_argument, NULL, OPT_OUTPUT },
		{ "cgroup", required_argument, NULL, OPT_CGROUP },
		{ "duration", required_argument, NULL, OPT_DURATION },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	/* Flags override the file whatever their order, so collect them first and apply after loading it. */
	struct flag_set *sets = cli->sets;
	unsigned nsets = 0;
	char err[1024];
	int c;

	rw_config_defaults(&cli->cfg);
	if (argc < 2) {
		usage(stderr);
		return -EINVAL;
	}
	cli->command = argv[1];
	if (!strcmp(cli->command, "-h") || !strcmp(cli->command, "--help") || !strcmp(cli->command, "help")) {
		usage(stdout);
		exit(0);
	}
	if (!strcmp(cli->command, "--version"))
		cli->command = "version";
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		const char *section = NULL, *key = NULL;
		const char *value = optarg;
		char ms[32];
		switch (c) {
		case OPT_CONFIG:
			cli->config_file = optarg;
			continue;
		case OPT_LISTEN:
			section = "agent", key = "listen_address";
			break;
		case OPT_WEBCONFIG:
			section = "http", key = "web_config_file";
			break;
		case OPT_INTERVAL:
			if (interval_to_ms(optarg, ms, sizeof ms) < 0) {
				fprintf(stderr, "rigwatch: --interval: expected seconds > 0, got \"%s\"\n", optarg);
				return -EINVAL;
			}
			section = "agent", key = "interval_ms", value = ms;
			break;
		case OPT_RESPONSE:
			section = "response", key = "mode";
			break;
		case OPT_MODEL:
			section = "model", key = "file";
			break;
		case OPT_CGROUP_ROOT:
			section = "agent", key = "cgroup_root";
			break;
		case OPT_LOGLEVEL:
			cli->log_level_set = true;
			section = "agent", key = "log_level";
			break;
		case OPT_LOGFORMAT:
			section = "agent", key = "log_format";
			break;
		case OPT_VERSION:
			cli->command = "version";
			continue;
		case OPT_LOCAL:
			cli->local = true;
			continue;
		case OPT_FPPATH:
			section = "fpprobe", key = "path";
			break;
		case OPT_OUTPUT:
			cli->output = optarg;
			continue;
		case OPT_CGROUP:
			cli->cgroup = optarg;
			continue;
		case OPT_LABEL:
			cli->label = optarg;
			continue;
		case OPT_DURATION: {
			char *end;
			errno = 0;
			unsigned long d = strtoul(optarg, &end, 10);
			if (!*optarg || *end || errno || d > 86400 * 365) {
				fprintf(stderr, "rigwatch: --duration: expected whole seconds, got \"%s\"\n", optarg);
				return -EINVAL;
			}
			cli->duration_s = (uint32_t)d;
			continue;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
		if (nsets == sizeof cli->sets / sizeof cli->sets[0] || strlen(value) >= sizeof sets[0].value) {
			fprintf(stderr, "rigwatch: too many or too long flags\n");
			return -EINVAL;
		}
		sets[nsets].section = section;
		sets[nsets].key = key;
		strcpy(sets[nsets].value, value);
		nsets++;
	}
	if (optind < argc)
		cli->positional = argv[optind++];
	if (optind < argc) {
		fprintf(stderr, "rigwatch: unexpected argument \"%s\"\n", argv[optind]);
		return -EINVAL;
	}
	if (!strcmp(cli->command, "check-config") && cli->positional && !cli->config_file)
		cli->config_file = cli->positional;
	cli->nsets = nsets;
	if (build_config(cli, &cli->cfg, err, sizeof err) < 0) {
		fprintf(stderr, "rigwatch: %s\n", err);
		return -EINVAL;
	}
	enum rw_log_level lvl;
	enum rw_log_format fmt;
	if (rw_log_parse_level(cli->cfg.log_level, &lvl) == 0)
		rw_log_set_level(lvl);
	if (rw_log_parse_format(cli->cfg.log_format, &fmt) == 0)
		rw_log_set_format(fmt);
	rw_log_set_output(NULL);   /* stderr; finds out whether it is the journal */
	return 0;
}

static int open_agent(struct cli *cli, unsigned flags, struct rw_agent **a)
{
	char err[1024];
	int r = rw_agent_open(a, &cli->cfg, flags, err, sizeof err);
	if (r < 0) {
		/* a log line, so that under journald `journalctl -p err` shows why the agent did not start */
		rw_log_error("agent", "%s", err);
		return r == -ENOENT || r == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	return 0;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* SIGHUP: the configuration file (and what it names) read again, the flags applied over it, and handed to the
 * agent, which swaps it in only if everything loads. */
static void reload(struct rw_agent *a, void *arg)
{
	const struct cli *cli = arg;
	struct rw_config *cfg = malloc(sizeof *cfg);
	char err[1024];
	int r = cfg ? build_config(cli, cfg, err, sizeof err) : -ENOMEM;
	if (r == -ENOMEM)
		snprintf(err, sizeof err, "%s", strerror(ENOMEM));
	if (r == 0)
		r = rw_agent_reload(a, cfg, err, sizeof err);
	else
		rw_agent_reload_failed(a);
	if (r < 0)
		rw_log_error("agent", "reload failed, the running configuration stays: %s", err);
	else
		rw_log_info("agent", "reloaded %s", cli->config_file ? cli->config_file : "(no config file: defaults and flags)");
	free(cfg);
}

static int cmd_run(struct cli *cli)
{
	struct rw_agent *a;
	int r = open_agent(cli, RW_AGENT_HTTP | RW_AGENT_ALERTS | RW_AGENT_RESPOND | RW_AGENT_SCORE, &a);
	if (r)
		return r;
	install_signals();
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_hangup;
	sigaction(SIGHUP, &sa, NULL);
	rw_agent_on_reload(a, &reload_requested, reload, cli);
	char interval[16];
	snprintf(interval, sizeof interval, "%u", cli->cfg.interval_ms);
	rw_log_kv(RW_LOG_INFO, "agent", "rigwatch running", "version", RW_VERSION, "revision",
		  rw_build_value("revision"), "interval_ms", interval, "response", rw_response_mode_name(cli->cfg.response),
		  "listen_address", cli->cfg.listen_address, NULL);
	r = rw_agent_run(a, &stop_requested, 0);
	rw_agent_close(a);
	if (r < 0) {
		rw_log_error("agent", "stopped: %s", strerror(-r));
		return EXIT_RUNTIME;
	}
	rw_log_info("agent", "stopped");
	return 0;
}

/* Commands that print for a person: the agent's info lines (what it found at start) are noise there, and under
 * top they would scribble over the screen. An explicit --log.level or log_level is kept. */
static void quiet_logs(const struct cli *cli, enum rw_log_level level)
{
	if (!strcmp(cli->cfg.log_level, "info") && !cli->log_level_set)
		rw_log_set_level(level);
}

static int cmd_list(struct cli *cli)
{
	char err[1024];
	bool as_json = false;
	if (cli->output) {
		if (strcmp(cli->output, "json") && strcmp(cli->output, "table")) {
			fprintf(stderr, "rigwatch: list --output: expected json or table, got \"%s\"\n", cli->output);
			return EXIT_USAGE;
		}
		as_json = !strcmp(cli->output, "json");
	}
	quiet_logs(cli, RW_LOG_WARN);
	install_signals();
	int r = rw_cmd_list(&cli->cfg, cli->local, as_json, &stop_requested, stdout, err, sizeof err);
	if (r < 0) {
		rw_log_error("list", "%s", err);
		return r == -ENOENT || r == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	return 0;
}

static int cmd_top(struct cli *cli)
{
	char err[1024];
	quiet_logs(cli, RW_LOG_ERROR);
	install_signals();
	int r = rw_cmd_top(&cli->cfg, cli->local, &stop_requested, err, sizeof err);
	if (r < 0) {
		rw_log_error("top", "%s", err);
		return r == -ENOENT || r == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	return 0;
}

static int cmd_record(struct cli *cli)
{
	char err[1024];
	if (!cli->output) {
		fprintf(stderr, "rigwatch: record needs --output FILE\n");
		return EXIT_USAGE;
	}
	if (cli->cgroup && cli->cgroup[0] != '/') {
		fprintf(stderr, "rigwatch: --cgroup: expected a path relative to the cgroup2 root, starting with '/'\n");
		return EXIT_USAGE;
	}
	install_signals();
	int r = rw_record(&cli->cfg, cli->output, cli->cgroup, cli->duration_s, cli->label ? cli->label : "",
			   &stop_requested, err, sizeof err);
	if (r < 0) {
		fprintf(stderr, "rigwatch: %s\n", err);
		return r == -ENOENT || r == -EINVAL ? EXIT_USAGE : EXIT_RUNTIME;
	}
	return 0;
}

static int cmd_replay(struct cli *cli)
{
	char err[1024];
	struct rw_model *m;
	int r;
	if (!cli->positional) {
		fprintf(stderr, "rigwatch: replay needs a trace FILE\n");
		return EXIT_USAGE;
	}
	if (!(m = calloc(1, sizeof *m)))
		return EXIT_RUNTIME;
	if ((r = rw_model_load(m, cli->cfg.model_file, err, sizeof err)) < 0) {
		fprintf(stderr, "rigwatch: %s\n", err);
		free(m);
		return EXIT_USAGE;
	}
	r = rw_replay_file(cli->positional, &cli->cfg, m, stdout, err, sizeof err);
	free(m);
	fflush(stdout);
	if (r < 0) {
		fprintf(stderr, "rigwatch: %s\n", err);
		return r == -EINVAL || r == -ENOENT ? EXIT_USAGE : EXIT_RUNTIME;
	}
	return 0;
}

/* Which FP path `run` would take with this configuration: the eBPF program is loaded and unloaded to find out. */
static void fp_path_report(const struct rw_config *cfg, FILE *out)
{
	struct rw_fpbpf *b = NULL;
	struct rw_fpbpf_opts o = { .btf_path = cfg->fpprobe_btf };
	struct rw_fpbpf_stats st;
	char why[256] = "";

	if (!cfg->fpprobe_enabled) {
		fprintf(out, "FP path: off (fpprobe.enabled = false)\n");
		return;
	}
	if (!strcmp(cfg->fpprobe_path, "ptrace")) {
		fprintf(out, "FP path: ptrace (fpprobe.path = ptrace)\n");
		return;
	}
	if (rw_fpbpf_open(&b, &o, why, sizeof why) == 0) {
		rw_fpbpf_stats(b, &st);
		fprintf(out, "FP path: bpf (x86_fpu_regs_deactivated loads and attaches; test load was program id %u)\n",
			st.prog_id);
		rw_fpbpf_close(b);
	} else if (!strcmp(cfg->fpprobe_path, "bpf")) {
		fprintf(out, "FP path: none: fpprobe.path = bpf, but %s\n", why);
	} else {
		fprintf(out, "FP path: ptrace (%s)\n", why);
	}
}

static int cmd_events(const struct cli *cli)
{
	struct rw_pmu *pmu;
	int r = rw_pmu_init(&pmu, NULL);
	if (r < 0) {
		fprintf(stderr, "rigwatch: counters: %s\n", strerror(-r));
		return EXIT_RUNTIME;
	}
	rw_pmu_report(pmu, stdout);
	rw_pmu_free(pmu);
	fp_path_report(&cli->cfg, stdout);
	return 0;
}

/* Prometheus' own tools print "<name>, version <v> (branch: ..., revision: ...)" then build details; the same
 * shape here, then the labels of rigwatch_build_info and the runtime library versions. */
static int cmd_version(void)
{
	const struct rw_build_label *bl;
	unsigned n = rw_build_info(&bl);
	printf("rigwatch, version %s (revision: %s)\n", RW_VERSION, rw_build_value("revision"));
	for (unsigned i = 2; i < n; i++)
		printf("  %s: %s\n", bl[i].name, bl[i].value);
#if defined(__SANITIZE_ADDRESS__)
	printf("  sanitizers: AddressSanitizer\n");
#endif
	printf("  libmicrohttpd (runtime): %s\n", MHD_get_version());
	printf("  protobuf-c (runtime): %s\n", protobuf_c_version());
	printf("  libcgroup: linked (2.x API)\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct cli cli;
	memset(&cli, 0, sizeof cli);
	if (parse_cli(argc, argv, &cli) < 0)
		return EXIT_USAGE;

	if (!strcmp(cli.command, "run"))
		return cmd_run(&cli);
	if (!strcmp(cli.command, "list"))
		return cmd_list(&cli);
	if (!strcmp(cli.command, "top"))
		return cmd_top(&cli);
	if (!strcmp(cli.command, "record"))
		return cmd_record(&cli);
	if (!strcmp(cli.command, "replay"))
		return cmd_replay(&cli);
	if (!strcmp(cli.command, "events"))
		return cmd_events(&cli);
	if (!strcmp(cli.command, "check-config")) {
		/* what a start or a reload would load: the configuration (checked above), indicator rules, model */
		char err[1024];
		if (rw_agent_check_files(&cli.cfg, err, sizeof err) < 0) {
			fprintf(stderr, "rigwatch: %s\n", err);
			return EXIT_USAGE;
		}
		rw_config_print(&cli.cfg, stdout);
		return 0;
	}
	if (!strcmp(cli.command, "version"))
		return cmd_version();
	fprintf(stderr, "rigwatch: unknown command \"%s\"\n", cli.command);
	usage(stderr);
	return EXIT_USAGE;
}
