package org.swprof.shim.graphql;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

import graphql.ExecutionInput;
import graphql.ExecutionResult;
import graphql.GraphQL;
import graphql.GraphQLError;
import graphql.GraphqlErrorBuilder;
import graphql.analysis.MaxQueryComplexityInstrumentation;
import graphql.analysis.QueryTraverser;
import graphql.analysis.QueryVisitorFieldEnvironment;
import graphql.analysis.QueryVisitorStub;
import graphql.analysis.MaxQueryDepthInstrumentation;
import graphql.execution.AbortExecutionException;
import graphql.execution.DataFetcherExceptionHandler;
import graphql.execution.DataFetcherExceptionHandlerParameters;
import graphql.execution.DataFetcherExceptionHandlerResult;
import graphql.execution.instrumentation.InstrumentationContext;
import graphql.execution.instrumentation.InstrumentationState;
import graphql.execution.instrumentation.parameters.InstrumentationExecuteOperationParameters;
import graphql.scalars.ExtendedScalars;
import graphql.schema.DataFetcher;
import graphql.schema.DataFetchingEnvironment;
import graphql.schema.GraphQLFieldDefinition;
import graphql.schema.GraphQLSchema;
import graphql.schema.LightDataFetcher;
import graphql.schema.idl.RuntimeWiring;
import graphql.schema.idl.SchemaGenerator;
import graphql.schema.idl.SchemaParser;
import graphql.schema.idl.TypeDefinitionRegistry;
import org.swprof.shim.SwprofCore;
import org.swprof.shim.SwprofException;
import org.swprof.shim.Version;

/**
 * The GraphQL API of swprof: the schema of {@code schema/*.graphqls} wired to resolvers that call the native
 * core once per field. Thread-safe; one instance serves every request.
 */
public final class SwprofGraphQL {
    private static final Logger LOG = Logger.getLogger(SwprofGraphQL.class.getName());

    /** The schema files, in the order they are merged; common.graphqls declares the root types. */
    public static final List<String> SCHEMA_FILES = List.of("common.graphqls", "ebpf-profiling.graphqls",
            "metadata.graphqls", "ui-pages.graphqls");
    /** System property: read the schema from this directory instead of the classpath (development). */
    public static final String SCHEMA_DIR_PROPERTY = "swprof.schema.dir";

    /**
     * Limits against abusive queries: depth, complexity (fields selected, lists counted once), how many analyses
     * one request may ask for (aliases repeat a field: each is a whole tree), and the size of one analysis answer.
     */
    public record Limits(int maxDepth, int maxComplexity, int maxAnalyses, long maxAnswerBytes) {
        public static final Limits DEFAULT = new Limits(20, 5000);

        public Limits(int maxDepth, int maxComplexity) {
            this(maxDepth, maxComplexity, 4, 64L << 20);
        }
    }

    /** The differential analysis: two analyses in one field, counted as two. */
    public static final String DIFF_FIELD = "diffEBPFProfilingAnalyzation";

    /** The fields that analyse (each answer a whole tree): the work of a request is counted in them. */
    public static final Set<String> ANALYSIS_FIELDS = Set.of("analysisEBPFProfilingResult",
            "getEBPFProfilingAnalyzation", DIFF_FIELD);

    /** Does this document ask for an analysis at all? (a quick look for the HTTP server's admission) */
    public static boolean mayAnalyse(String query) {
        for (String f : ANALYSIS_FIELDS) {
            if (query.contains(f)) {
                return true;
            }
        }
        return false;
    }

    /**
     * What SkyWalking's UI is given besides data: the dashboard templates, and the layers the discovery rules name
     * (served with OS_LINUX even before a process of theirs is found).
     */
    public record Ui(UiTemplates templates, List<String> ruleLayers) {
        public Ui {
            java.util.Objects.requireNonNull(templates, "templates");
            ruleLayers = ruleLayers == null ? List.of() : List.copyOf(ruleLayers);
        }

        /** The built-in templates, no rule layers. */
        public static Ui defaults() {
            return new Ui(UiTemplates.builtIn(), List.of());
        }
    }

    private final GraphQL graphQL;
    private final GraphQLSchema schema;

    public SwprofGraphQL(SwprofCore core) {
        this(core, Limits.DEFAULT);
    }

    public SwprofGraphQL(SwprofCore core, Limits limits) {
        this(core, limits, Ui.defaults());
    }

    public SwprofGraphQL(SwprofCore core, Limits limits, Ui ui) {
        this.schema = new SchemaGenerator().makeExecutableSchema(loadSchema(), wiring(core, ui, limits));
        this.graphQL = GraphQL.newGraphQL(schema)
                .instrumentation(new QueryLimits(limits))
                .defaultDataFetcherExceptionHandler(new ErrorHandler())
                .build();
    }

    public GraphQLSchema schema() {
        return schema;
    }

    /**
     * The TTLs as OAP's {@code GET /status/config/ttl} answers them ({@code {"metrics": {...}, "records": {...}}}),
     * the same figures as the GraphQL fields getMetricsTTL and getRecordsTTL.
     */
    public static Map<String, Object> ttlDefinition() {
        Map<String, Object> m = new LinkedHashMap<>();
        Map<String, Object> metrics = MetadataResolvers.metricsTtl();
        metrics.remove("metadata"); // OAP's REST answer has no metadata TTL
        m.put("metrics", metrics);
        m.put("records", MetadataResolvers.recordsTtl());
        return m;
    }

    /**
     * Executes one request and answers the reply object: {@code {"data": ..}} plus {@code "errors": [{"message",
     * ..}]} when there are any. "data" is always present (null when execution did not start).
     */
    public Map<String, Object> execute(String query, String operationName, Map<String, Object> variables) {
        Map<String, Object> vars = Variables.dropNullsInNonNullLists(query, variables);
        ExecutionInput.Builder in = ExecutionInput.newExecutionInput().query(query == null ? "" : query);
        if (operationName != null && !operationName.isEmpty()) {
            in.operationName(operationName);
        }
        if (vars != null) {
            in.variables(vars);
        }
        ExecutionResult r = graphQL.execute(in.build());
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("data", r.getData());
        if (!r.getErrors().isEmpty()) {
            List<Map<String, Object>> errors = new ArrayList<>(r.getErrors().size());
            for (GraphQLError e : r.getErrors()) {
                errors.add(e.toSpecification());
            }
            out.put("errors", errors);
        }
        return out;
    }

    // ---- wiring -------------------------------------------------------------------------------------

    private static RuntimeWiring wiring(SwprofCore core, Ui ui, Limits limits) {
        EbpfResolvers ebpf = new EbpfResolvers(core, limits.maxAnswerBytes());
        MetadataResolvers meta = new MetadataResolvers(core, ui.templates(), ui.ruleLayers());
        UiPagesResolvers pages = new UiPagesResolvers();
        DataFetcher<Object> version = env -> Version.TEXT;
        return RuntimeWiring.newRuntimeWiring()
                .scalar(ExtendedScalars.GraphQLLong)
                .type("Query", t -> t
                        .dataFetcher("version", version)
                        // eBPF profiling
                        .dataFetcher("queryPrepareCreateEBPFProfilingTaskData", ebpf::prepare)
                        .dataFetcher("queryEBPFProfilingTasks", ebpf::tasks)
                        .dataFetcher("queryEBPFProfilingSchedules", ebpf::schedules)
                        .dataFetcher("getEBPFProfilingAnalyzation", ebpf::analyzeTask)
                        .dataFetcher("analysisEBPFProfilingResult", ebpf::analyzeSchedules)
                        .dataFetcher(DIFF_FIELD, ebpf::diff)
                        // metadata v1 (OAP 9.0 served it beside v2)
                        .dataFetcher("getAllServices", meta::allServices)
                        .dataFetcher("searchServices", meta::searchServices)
                        .dataFetcher("searchService", meta::searchService)
                        .dataFetcher("getAllBrowserServices", meta::none)
                        .dataFetcher("searchBrowserServices", meta::none)
                        .dataFetcher("searchBrowserService", meta::nothing)
                        .dataFetcher("searchEndpoint", meta::none)
                        .dataFetcher("getAllDatabases", meta::none)
                        // metadata v2
                        .dataFetcher("findEndpoint", meta::none)
                        .dataFetcher("getEndpointInfo", meta::nothing)
                        .dataFetcher("listLayers", meta::listLayers)
                        .dataFetcher("listServices", meta::listServices)
                        .dataFetcher("getService", meta::getService)
                        .dataFetcher("findService", meta::findService)
                        .dataFetcher("listInstances", meta::listInstances)
                        .dataFetcher("getServiceInstances", meta::listInstances)
                        .dataFetcher("getInstance", meta::getInstance)
                        .dataFetcher("listProcesses", meta::listProcesses)
                        .dataFetcher("getProcess", meta::getProcess)
                        .dataFetcher("estimateProcessScale", meta::estimateProcessScale)
                        // the UI's shell: start-up calls and dashboards (docs/protocol.md §7)
                        .dataFetcher("getTimeInfo", meta::timeInfo)
                        .dataFetcher("getMetricsTTL", meta::metricsTTL)
                        .dataFetcher("getRecordsTTL", meta::recordsTTL)
                        .dataFetcher("getMenuItems", meta::menuItems)
                        .dataFetcher("hasQueryTracesV2Support", env -> false)
                        .dataFetcher("getAllTemplates", meta::allTemplates)
                        // the UI's other pages: OAP's types, empty (ui-pages.graphqls)
                        .dataFetcher("getServiceHierarchy", pages::serviceHierarchy)
                        .dataFetcher("getInstanceHierarchy", pages::instanceHierarchy)
                        .dataFetcher("listLayerLevels", pages::layerLevels)
                        .dataFetcher("execExpression", pages::expression)
                        .dataFetcher("getAlarm", pages::alarms)
                        .dataFetcher("queryAlarmTagAutocompleteKeys", pages::noTags)
                        .dataFetcher("queryAlarmTagAutocompleteValues", pages::noTags))
                .type("Mutation", t -> t
                        .dataFetcher("version", version)
                        .dataFetcher("createEBPFProfilingFixedTimeTask", ebpf::createTask)
                        .dataFetcher("addTemplate", pages::templateChange)
                        .dataFetcher("changeTemplate", pages::templateChange)
                        .dataFetcher("disableTemplate", pages::templateChange))
                // the analysis is the one large answer (100k+ elements): its records are read by light fetchers,
                // without reflection and without a DataFetchingEnvironment per field
                .type("EBPFProfilingAnalyzation", t -> t
                        .dataFetcher("tip", light(Json.Analysis.class, Json.Analysis::tip))
                        .dataFetcher("trees", light(Json.Analysis.class, Json.Analysis::trees)))
                .type("EBPFProfilingTree", t -> t
                        .dataFetcher("elements", light(Json.Tree.class, Json.Tree::elements)))
                .type("EBPFProfilingStackElement", t -> t
                        .dataFetcher("id", light(Json.Element.class, Json.Element::id))
                        .dataFetcher("parentId", light(Json.Element.class, Json.Element::parentId))
                        .dataFetcher("symbol", light(Json.Element.class, Json.Element::symbol))
                        .dataFetcher("stackType", light(Json.Element.class, Json.Element::stackType))
                        .dataFetcher("dumpCount", light(Json.Element.class, Json.Element::dumpCount)))
                .build();
    }

    /** A fetcher reading one property of a record source. */
    private static <S> LightDataFetcher<Object> light(Class<S> type, Function<S, Object> get) {
        return new LightDataFetcher<>() {
            @Override
            public Object get(GraphQLFieldDefinition def, Object source, Supplier<DataFetchingEnvironment> env) {
                return get.apply(type.cast(source));
            }

            @Override
            public Object get(DataFetchingEnvironment env) {
                return get.apply(type.cast(env.getSource()));
            }
        };
    }

    // ---- schema -------------------------------------------------------------------------------------

    static TypeDefinitionRegistry loadSchema() {
        SchemaParser parser = new SchemaParser();
        TypeDefinitionRegistry registry = new TypeDefinitionRegistry();
        String dir = System.getProperty(SCHEMA_DIR_PROPERTY);
        if (dir != null && !dir.isBlank()) {
            Path d = Path.of(dir);
            List<Path> files = new ArrayList<>();
            try (DirectoryStream<Path> ds = Files.newDirectoryStream(d, "*.graphqls")) {
                ds.forEach(files::add);
            } catch (IOException e) {
                throw new UncheckedIOException("schema directory " + d, e);
            }
            files.sort(null);
            for (Path f : files) {
                try {
                    registry.merge(parser.parse(Files.readString(f, StandardCharsets.UTF_8)));
                } catch (IOException e) {
                    throw new UncheckedIOException("schema file " + f, e);
                }
            }
            return registry;
        }
        for (String name : SCHEMA_FILES) {
            try (InputStream in = SwprofGraphQL.class.getResourceAsStream("/schema/" + name)) {
                if (in == null) {
                    throw new IllegalStateException("schema/" + name + " is not on the classpath");
                }
                registry.merge(parser.parse(new String(in.readAllBytes(), StandardCharsets.UTF_8)));
            } catch (IOException e) {
                throw new UncheckedIOException("schema/" + name, e);
            }
        }
        return registry;
    }

    /**
     * Depth and complexity limits in one instrumentation: a ChainedInstrumentation would be called for every
     * field of every stack element, these two only look at the operation once.
     */
    static final class QueryLimits extends MaxQueryComplexityInstrumentation {
        private final MaxQueryDepthInstrumentation depth;
        private final int maxAnalyses;

        QueryLimits(Limits limits) {
            super(limits.maxComplexity());
            this.depth = new MaxQueryDepthInstrumentation(limits.maxDepth());
            this.maxAnalyses = limits.maxAnalyses();
        }

        @Override
        public InstrumentationContext<ExecutionResult> beginExecuteOperation(
                InstrumentationExecuteOperationParameters parameters, InstrumentationState state) {
            depth.beginExecuteOperation(parameters, state); // throws AbortExecutionException when too deep
            countAnalyses(parameters.getExecutionContext());
            return super.beginExecuteOperation(parameters, state);
        }

        /** Every analysis field the operation would run, through aliases and fragments. */
        private void countAnalyses(graphql.execution.ExecutionContext ec) {
            int[] n = {0};
            QueryTraverser.newQueryTraverser().schema(ec.getGraphQLSchema()).document(ec.getDocument())
                    .operationName(ec.getOperationDefinition().getName()).coercedVariables(ec.getCoercedVariables())
                    .build().visitPreOrder(new QueryVisitorStub() {
                        @Override
                        public void visitField(QueryVisitorFieldEnvironment env) {
                            if (ANALYSIS_FIELDS.contains(env.getField().getName())) {
                                n[0] += DIFF_FIELD.equals(env.getField().getName()) ? 2 : 1;
                            }
                        }
                    });
            if (n[0] > maxAnalyses) {
                throw new AbortExecutionException("a request may run at most " + maxAnalyses + " analyses "
                        + "(rest.maxAnalysesPerRequest); this one asks for " + n[0]);
            }
        }
    }

    // ---- errors -------------------------------------------------------------------------------------

    /** Resolver exceptions -> GraphQL errors whose message is the reason itself (clients show errors[0].message). */
    static final class ErrorHandler implements DataFetcherExceptionHandler {
        @Override
        public CompletableFuture<DataFetcherExceptionHandlerResult> handleException(
                DataFetcherExceptionHandlerParameters p) {
            Throwable e = unwrap(p.getException());
            String message;
            if (e instanceof SwprofException || e instanceof IllegalArgumentException
                    || e instanceof IllegalStateException) {
                message = e.getMessage() == null ? e.toString() : e.getMessage();
                LOG.fine(() -> p.getPath() + ": " + e);
            } else {
                message = "internal error: " + e;
                LOG.log(Level.SEVERE, "resolver " + p.getPath() + " failed", e);
            }
            GraphQLError err = GraphqlErrorBuilder.newError()
                    .message(message)
                    .path(p.getPath())
                    .location(p.getSourceLocation())
                    .build();
            return CompletableFuture.completedFuture(
                    DataFetcherExceptionHandlerResult.newResult().error(err).build());
        }

        private static Throwable unwrap(Throwable e) {
            while ((e instanceof java.util.concurrent.CompletionException
                    || e instanceof java.lang.reflect.UndeclaredThrowableException) && e.getCause() != null) {
                e = e.getCause();
            }
            return e;
        }
    }
}
