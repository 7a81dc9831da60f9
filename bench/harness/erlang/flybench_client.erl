%% The :erpc client node: the same measurements as the C++ driver
%% (bench/harness/driver), printed as the same JSON objects, one per line.
%%   erl -sname C@localhost -setcookie K -noinput -pa DIR -s flybench_client main -extra
%%       --server S@localhost --system erpc [--payloads upcase3,echo1k,echo64k]
%%       [--modes sequential,blocking,async] [--inflight 1,8,64,256]
%%       [--seq-calls 20000] [--seq-warmup 2000] [--seconds 1.0] [--warmup 0.2]
%%       [--max-calls 2000000] [--connect-timeout 10] [--server-pid PID]
%%       [--seq-seconds 0] [--cpu-probe PATH-OF-flybench_cpu_probe]
%% Blocking: N processes, each looping on erpc:call/4. Async: one process with
%% N requests outstanding (erpc:send_request/4 and a request-id collection).
%% CPU per call: the CPU clocks of this BEAM and of the server's (--server-pid,
%% the OS process id), read by flybench_cpu_probe (--cpu-probe) when a point's
%% window opens and after its last counted call.
-module(flybench_client).
-export([main/0]).

%% The options are the plain arguments after -extra.
main() ->
    Status =
        try run(parse(init:get_plain_arguments(), defaults())) of
            ok -> 0
        catch
            throw:{usage, Msg} ->
                io:format(standard_error, "erpc client: ~s~n", [Msg]), 2;
            Class:Reason:Stack ->
                io:format(standard_error, "erpc client: ~p:~p~n~p~n", [Class, Reason, Stack]), 1
        end,
    erlang:halt(Status).

defaults() ->
    #{server => undefined, system => "erpc",
      payloads => ["upcase3", "echo1k", "echo64k"],
      modes => ["sequential", "blocking", "async"], inflight => [1, 8, 64, 256],
      seq_calls => 20000, seq_warmup => 2000, seconds => 1.0, warmup => 0.2,
      max_calls => 2000000, connect_timeout => 10.0, server_pid => undefined,
      seq_seconds => 0.0, cpu_probe => undefined}.

%% ---- options: the C++ clients' names, validated the same way ----------------
parse([], #{server := undefined}) -> throw({usage, "--server NODE is required"});
parse([], O) -> O;
parse(["--server", V | T], O) -> parse(T, O#{server := list_to_atom(V)});
parse(["--system", V | T], O) -> parse(T, O#{system := V});
parse(["--payloads", V | T], O) ->
    parse(T, O#{payloads := members("--payloads", V, ["upcase3", "echo1k", "echo64k"])});
parse(["--modes", V | T], O) ->
    parse(T, O#{modes := members("--modes", V, ["sequential", "blocking", "async"])});
parse(["--inflight", V | T], O) ->
    parse(T, O#{inflight := [int("--inflight", X, 1, 4096) || X <- string:lexemes(V, ",")]});
parse(["--seq-calls", V | T], O) -> parse(T, O#{seq_calls := int("--seq-calls", V, 1, 10000000)});
parse(["--seq-warmup", V | T], O) -> parse(T, O#{seq_warmup := int("--seq-warmup", V, 0, 10000000)});
parse(["--cpu-probe", V | T], O) ->
    case filelib:is_regular(V) of
        true -> parse(T, O#{cpu_probe := V});
        false -> throw({usage, "--cpu-probe: no file " ++ V})
    end;
parse(["--seq-seconds", V | T], O) -> parse(T, O#{seq_seconds := num("--seq-seconds", V, 0.0, 600.0)});
parse(["--seconds", V | T], O) -> parse(T, O#{seconds := num("--seconds", V, 0.01, 60.0)});
parse(["--warmup", V | T], O) -> parse(T, O#{warmup := num("--warmup", V, 0.0, 60.0)});
parse(["--max-calls", V | T], O) -> parse(T, O#{max_calls := int("--max-calls", V, 1, 50000000)});
parse(["--server-pid", V | T], O) ->
    case int("--server-pid", V, 0, 1 bsl 30) of
        0 -> parse(T, O#{server_pid := undefined});
        Pid ->
            case file:read_file_info("/proc/" ++ integer_to_list(Pid) ++ "/task") of
                {ok, _} -> parse(T, O#{server_pid := Pid});
                {error, E} -> throw({usage, lists:flatten(io_lib:format("--server-pid: no process ~s (~p)", [V, E]))})
            end
    end;
parse(["--connect-timeout", V | T], O) ->
    parse(T, O#{connect_timeout := num("--connect-timeout", V, 0.1, 120.0)});
parse([K | _], _) -> throw({usage, "unknown option or missing value: " ++ K}).

members(Opt, V, Allowed) ->
    L = string:lexemes(V, ","),
    case [X || X <- L, not lists:member(X, Allowed)] of
        [] -> L;
        [Bad | _] -> throw({usage, Opt ++ ": '" ++ Bad ++ "' is not one of " ++ lists:join(", ", Allowed)})
    end.

int(Opt, V, Lo, Hi) ->
    case string:to_integer(V) of
        {N, ""} when N >= Lo, N =< Hi -> N;
        _ -> throw({usage, lists:flatten(io_lib:format("~s: '~s' is not an integer in ~b..~b", [Opt, V, Lo, Hi]))})
    end.

num(Opt, V, Lo, Hi) ->
    N = case string:to_float(V) of
            {F, ""} -> F;
            _ -> case string:to_integer(V) of {I, ""} -> float(I); _ -> bad end
        end,
    case N of
        X when is_float(X), X >= Lo, X =< Hi -> X;
        _ -> throw({usage, lists:flatten(io_lib:format("~s: '~s' is not a number in ~p..~p", [Opt, V, Lo, Hi]))})
    end.

%% ---- payloads: byte-for-byte those of bench/harness/driver/payloads.cpp -------
payload("upcase3") -> {upcase, <<"fly">>, <<"FLY">>};
payload("echo1k") -> P = pattern(1024), {echo, P, P};
payload("echo64k") -> P = pattern(65536), {echo, P, P}.

pattern(N) -> list_to_binary([$a + (I * 7 + I div 26) rem 26 || I <- lists:seq(0, N - 1)]).

call(Node, {F, Req, _}) -> erpc:call(Node, flybench_server, F, [Req]).

%% Full compare in warm-up; size and both ends while measuring (as the driver).
check({_, _, Expected}, Expected, _) -> ok;
check({_, _, E}, R, quick) when is_binary(R), byte_size(R) =:= byte_size(E),
                                binary_part(R, 0, 1) =:= binary_part(E, 0, 1),
                                binary_part(R, byte_size(R), -1) =:= binary_part(E, byte_size(E), -1) -> ok;
check(_, R, _) -> error({wrong_response, R}).

now_ns() -> erlang:monotonic_time(nanosecond).

%% ---- the run ---------------------------------------------------------------
run(#{server := Node} = O0) ->
    O = O0#{probe => start_probe(O0)},
    connect(Node, now_ns() + round(maps:get(connect_timeout, O) * 1.0e9)),
    lists:foreach(fun(Name) -> run_payload(Node, Name, payload(Name), O) end, maps:get(payloads, O)).

%% Retries while the server node comes up, until the deadline.
connect(Node, Deadline) ->
    Up = net_kernel:connect_node(Node) andalso
        (catch erpc:call(Node, flybench_server, echo, [<<>>])) =:= <<>>,
    case Up of
        true -> ok;
        false ->
            case now_ns() >= Deadline of
                true -> error({cannot_connect, Node});
                false -> receive after 20 -> connect(Node, Deadline) end  % retry back-off
            end
    end.

run_payload(Node, Name, P, O) ->
    Modes = maps:get(modes, O),
    case lists:member("sequential", Modes) of
        true -> report(O, Name, P, "sequential", 1, sequential(Node, P, O));
        false -> ok
    end,
    [report(O, Name, P, "blocking", N, blocking(Node, P, N, O)) || lists:member("blocking", Modes),
                                                                   N <- maps:get(inflight, O)],
    [report(O, Name, P, "async", N, async(Node, P, N, O)) || lists:member("async", Modes),
                                                             N <- maps:get(inflight, O)],
    ok.

sequential(Node, P, #{seq_warmup := Warm, seq_calls := Calls, seq_seconds := Max} = O) ->
    Deadline = fun(T) -> case Max > 0 of true -> T + round(Max * 1.0e9); false -> infinity end end,
    warm(Node, P, Warm, Deadline(now_ns())),
    Cpu0 = cpu_sample(O),
    T0 = now_ns(),
    End = Deadline(T0),
    {Samples, Window} = seq_loop(Node, P, Calls, End, T0, T0, []),
    {Samples, Window, cpu_use(O, Cpu0)}.

%% Warm-up: N fully checked calls, or until End.
warm(_, _, 0, _) -> ok;
warm(Node, P, N, End) ->
    case now_ns() >= End of
        true -> ok;
        false -> check(P, call(Node, P), full), warm(Node, P, N - 1, End)
    end.

%% Stops after N calls or at End (an integer always compares below infinity).
seq_loop(_, _, 0, _, T0, Last, Acc) -> {Acc, Last - T0};
seq_loop(_, _, _, End, T0, Last, Acc) when Last >= End -> {Acc, Last - T0};
seq_loop(Node, P, N, End, T0, Before, Acc) ->
    R = call(Node, P),
    After = now_ns(),
    check(P, R, quick),
    seq_loop(Node, P, N - 1, End, T0, After, [After - Before | Acc]).

window(O) ->
    T0 = now_ns() + round(maps:get(warmup, O) * 1.0e9),
    {T0, T0 + round(maps:get(seconds, O) * 1.0e9)}.

%% N processes, each calling in a loop; a call counts when it completes in the window.
blocking(Node, P, N, O) ->
    Cap = max(1, maps:get(max_calls, O) div N),
    {T0, T1} = window(O),
    Parent = self(),
    Pids = [spawn_link(fun() -> Parent ! {done, self(), worker(Node, P, T0, T1, Cap, 0, [])} end)
            || _ <- lists:seq(1, N)],
    Sampler = start_sampler(O, T0),
    Results = [receive {done, Pid, R} -> R end || Pid <- Pids],
    Cpu = stop_sampler(Sampler),
    End = lists:max([E || {_, E} <- Results]),
    {lists:append([S || {S, _} <- Results]), End - T0, Cpu}.

worker(Node, P, T0, T1, Cap, Count, Acc) ->
    Start = now_ns(),
    case Start >= T1 orelse Count >= Cap of
        true -> {Acc, Start};
        false ->
            R = call(Node, P),
            Done = now_ns(),
            check(P, R, case Done < T0 of true -> full; false -> quick end),
            case Done >= T0 of
                true -> worker(Node, P, T0, T1, Cap, Count + 1, [Done - Start | Acc]);
                false -> worker(Node, P, T0, T1, Cap, Count, Acc)
            end
    end.

%% One process keeping N requests outstanding; each reply sends the next.
async(Node, P, N, O) ->
    Cap = maps:get(max_calls, O),
    {T0, T1} = window(O),
    Coll = lists:foldl(fun(_, C) -> send(Node, P, C) end, erpc:reqids_new(), lists:seq(1, N)),
    Sampler = start_sampler(O, T0),
    {Samples, Window} = async_loop(Node, P, Coll, T0, T1, Cap, 0, [], T0),
    {Samples, Window, stop_sampler(Sampler)}.

send(Node, {F, Req, _}, Coll) ->
    Start = now_ns(),
    erpc:reqids_add(erpc:send_request(Node, flybench_server, F, [Req]), Start, Coll).

async_loop(Node, P, Coll, T0, T1, Cap, Count, Acc, Last) ->
    case erpc:receive_response(Coll, infinity, true) of
        no_request -> {Acc, Last - T0};
        {R, Start, Coll1} ->
            Now = now_ns(),
            check(P, R, case Now < T0 of true -> full; false -> quick end),
            {Count1, Acc1} = case Now >= T0 of
                                 true -> {Count + 1, [Now - Start | Acc]};
                                 false -> {Count, Acc}
                             end,
            Coll2 = case Now < T1 andalso Count1 + erpc:reqids_size(Coll1) < Cap of
                        true -> send(Node, P, Coll1);
                        false -> Coll1
                    end,
            async_loop(Node, P, Coll2, T0, T1, Cap, Count1, Acc1, Now)
    end.

%% ---- CPU: flybench_cpu_probe (bench/harness/driver/cpu_probe.cpp) ------------
%% A process of its own reads this BEAM's and the server's CPU clocks and
%% /proc/stat on request; a process here owns its port and answers samples.
%% Without --cpu-probe no CPU figures are reported.
start_probe(#{cpu_probe := undefined}) -> undefined;
start_probe(#{cpu_probe := Path, server_pid := Server}) ->
    Parent = self(),
    Args = [os:getpid(), integer_to_list(case Server of undefined -> 0; _ -> Server end)],
    Pid = spawn_link(fun() ->
                             Port = open_port({spawn_executable, Path},
                                              [{args, Args}, {line, 256}, use_stdio, exit_status]),
                             Parent ! {probe_ready, self()},
                             probe_loop(Port)
                     end),
    receive {probe_ready, Pid} -> Pid end.

probe_loop(Port) ->
    receive
        {sample, From} ->
            port_command(Port, "\n"),
            receive
                {Port, {data, {eol, Line}}} ->
                    From ! {sample, self(), [list_to_integer(F) || F <- string:lexemes(Line, " ")]},
                    probe_loop(Port);
                {Port, {exit_status, S}} -> error({cpu_probe_exited, S})
            end
    end.

%% {ClientNs, ServerNs, MachineBusy, MachineSteal, MachineAll} (ticks: USER_HZ, 100).
cpu_sample(#{probe := undefined}) -> undefined;
cpu_sample(#{probe := Probe}) ->
    Probe ! {sample, self()},
    receive {sample, Probe, [C, S, B, St, A]} -> {C, S, B, St, A} end.

%% The difference since Before, in seconds: {Client, Server | undefined, Busy, Steal, All}.
cpu_use(_, undefined) -> undefined;
cpu_use(#{server_pid := Server} = O, {C0, S0, B0, St0, A0}) ->
    {C1, S1, B1, St1, A1} = cpu_sample(O),
    Tick = 0.01,
    {(C1 - C0) / 1.0e9, case Server of undefined -> undefined; _ -> (S1 - S0) / 1.0e9 end,
     (B1 - B0) * Tick, (St1 - St0) * Tick, (A1 - A0) * Tick}.

%% A process that samples when the window opens at T0 (it sleeps until then)
%% and again when told, after the point's last call.
start_sampler(O, T0) ->
    Parent = self(),
    spawn_link(fun() ->
                       receive after max(0, (T0 - now_ns()) div 1000000) -> ok end,
                       Cpu0 = cpu_sample(O),
                       receive stop -> Parent ! {cpu, self(), cpu_use(O, Cpu0)} end
               end).

stop_sampler(Sampler) ->
    Sampler ! stop,
    receive {cpu, Sampler, Cpu} -> Cpu end.

cpu_json(undefined, _) ->
    "\"client_cpu_s\":null,\"client_cpu_us\":null,\"server_cpu_s\":null,\"server_cpu_us\":null,"
    "\"others_cpu_share\":null,\"steal_share\":null";
cpu_json({Client, Server, Busy, Steal, All}, Calls) ->
    N = max(1, Calls),
    A = case All > 0 of true -> All; false -> 1.0 end,
    Others = max(0.0, Busy - Client - case Server of undefined -> 0.0; _ -> Server end),
    {ServerS, ServerUs} = case Server of
                              undefined -> {"null", "null"};
                              _ -> {io_lib:format("~.6f", [Server]), io_lib:format("~.3f", [Server * 1.0e6 / N])}
                          end,
    io_lib:format("\"client_cpu_s\":~.6f,\"client_cpu_us\":~.3f,\"server_cpu_s\":~s,"
                  "\"server_cpu_us\":~s,\"others_cpu_share\":~.3f,\"steal_share\":~.3f",
                  [Client, Client * 1.0e6 / N, ServerS, ServerUs, Others / A, Steal / A]).

%% ---- output: the driver's JSON shape -----------------------------------------
report(#{system := System}, Name, {_, Req, _}, Mode, Inflight, {Samples, WindowNs, Cpu}) ->
    Sorted = list_to_tuple(lists:sort(Samples)),
    Calls = tuple_size(Sorted),
    Us = fun(Ns) -> Ns / 1000 end,
    Rank = fun(_) when Calls =:= 0 -> 0.0;
              (Q) -> Us(element(min(Calls, max(1, ceil(Q * Calls))), Sorted))
           end,
    Seconds = WindowNs / 1.0e9,
    Rate = case Seconds > 0 of true -> Calls / Seconds; false -> 0.0 end,
    Mean = case Calls of 0 -> 0.0; _ -> Us(lists:sum(Samples) / Calls) end,
    io:format("{\"system\":\"~s\",\"payload\":\"~s\",\"bytes\":~b,\"mode\":\"~s\",\"inflight\":~b,"
              "\"calls\":~b,\"seconds\":~.3f,\"calls_per_s\":~b,\"p50_us\":~.1f,\"p90_us\":~.1f,"
              "\"p99_us\":~.1f,\"max_us\":~.1f,\"mean_us\":~.1f,~s}~n",
              [System, Name, byte_size(Req), Mode, Inflight, Calls, Seconds, round(Rate),
               Rank(0.50), Rank(0.90), Rank(0.99), Rank(1.0), float(Mean), cpu_json(Cpu, Calls)]).
