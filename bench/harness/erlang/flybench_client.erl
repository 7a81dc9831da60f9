%% The :erpc client node: the same measurements as the C++ driver
%% (bench/harness/driver), printed as the same JSON objects, one per line.
%%   erl -sname C@localhost -setcookie K -noinput -pa DIR -s flybench_client main -extra
%%       --server S@localhost --system erpc [--payloads upcase3,echo1k,echo64k]
%%       [--modes sequential,blocking,async] [--inflight 1,8,64,256]
%%       [--seq-calls 20000] [--seq-warmup 2000] [--seconds 1.0] [--warmup 0.2]
%%       [--max-calls 2000000] [--connect-timeout 10]
%% Blocking: N processes, each looping on erpc:call/4. Async: one process with
%% N requests outstanding (erpc:send_request/4 and a request-id collection).
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
      max_calls => 2000000, connect_timeout => 10.0}.

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
parse(["--seconds", V | T], O) -> parse(T, O#{seconds := num("--seconds", V, 0.01, 60.0)});
parse(["--warmup", V | T], O) -> parse(T, O#{warmup := num("--warmup", V, 0.0, 60.0)});
parse(["--max-calls", V | T], O) -> parse(T, O#{max_calls := int("--max-calls", V, 1, 50000000)});
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
run(#{server := Node} = O) ->
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

sequential(Node, P, #{seq_warmup := Warm, seq_calls := Calls}) ->
    [check(P, call(Node, P), full) || _ <- lists:seq(1, Warm)],
    T0 = now_ns(),
    seq_loop(Node, P, Calls, T0, T0, []).

seq_loop(_, _, 0, T0, Last, Acc) -> {Acc, Last - T0};
seq_loop(Node, P, N, T0, Before, Acc) ->
    R = call(Node, P),
    After = now_ns(),
    check(P, R, quick),
    seq_loop(Node, P, N - 1, T0, After, [After - Before | Acc]).

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
    Results = [receive {done, Pid, R} -> R end || Pid <- Pids],
    End = lists:max([E || {_, E} <- Results]),
    {lists:append([S || {S, _} <- Results]), End - T0}.

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
    async_loop(Node, P, Coll, T0, T1, Cap, 0, [], T0).

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

%% ---- output: the driver's JSON shape -----------------------------------------
report(#{system := System}, Name, {_, Req, _}, Mode, Inflight, {Samples, WindowNs}) ->
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
              "\"p99_us\":~.1f,\"max_us\":~.1f,\"mean_us\":~.1f}~n",
              [System, Name, byte_size(Req), Mode, Inflight, Calls, Seconds, round(Rate),
               Rank(0.50), Rank(0.90), Rank(0.99), Rank(1.0), float(Mean)]).
