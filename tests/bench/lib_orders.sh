# lib_orders.sh - what the multi-order benchmarks share (sourced by
# orders.sh and shared-orders.sh): the seeds from the command line, and
# running one benchmark tool per seed, JOBS at a time.
#
#   orders_seeds "$@"       check the seeds; ORDERS becomes them, 1..14
#                           when none is given
#   orders_run TOOL OUT ARGS...
#                           run "TOOL -d CORPUS -w DIR -s SEED ARGS..."
#                           for each seed of ORDERS (and -c BENCH_CONF
#                           when set), JOBS (default 2) at once, each in
#                           a private store directory; its figures go to
#                           OUT/SEED.txt (empty when it failed, and why
#                           on stderr). Needs corpus and work set.

orders_seeds() {
	ORDERS=${*:-1 2 3 4 5 6 7 8 9 10 11 12 13 14}
	for _s in $ORDERS; do
		case $_s in
		*[!0-9]*) echo "bench: not a seed: $_s" >&2; exit 64 ;;
		esac
	done
}

# orders_one TOOL OUT SEED ARGS... - one order
orders_one() {
	_t=$1 _o=$2 _s=$3
	shift 3
	mkdir -p "$work/$_s"
	if "$_t" -d "$corpus" -w "$work/$_s" -s "$_s" "$@" \
	    ${BENCH_CONF:+-c "$BENCH_CONF"} > "$_o/$_s.txt" 2> "$work/$_s.err"; then
		echo "bench: order $_s done" >&2
	else
		echo "bench: order $_s failed:" >&2
		cat "$work/$_s.err" >&2
		: > "$_o/$_s.txt"
	fi
	rm -rf "${work:?}/$_s"
}

orders_run() {
	_tool=$1 _out=$2
	shift 2
	_n=0
	for _seed in $ORDERS; do
		orders_one "$_tool" "$_out" "$_seed" "$@" &
		_n=$((_n + 1))
		if [ "$_n" -ge "${JOBS:-2}" ]; then
			wait
			_n=0
		fi
	done
	wait
}
