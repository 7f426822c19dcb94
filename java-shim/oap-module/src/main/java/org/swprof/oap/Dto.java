package org.swprof.oap;

import java.io.IOException;
import java.util.List;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.MapperFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;

/**
 * The core's JSON -> the OAP's query DTOs (Lombok beans whose property names are the GraphQL field names, as
 * the core's JSON keys are). Unknown keys are ignored; "1" fills an int id.
 */
final class Dto {
    static final ObjectMapper MAPPER = JsonMapper.builder()
            .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
            .enable(MapperFeature.USE_GETTERS_AS_SETTERS)
            .enable(DeserializationFeature.READ_UNKNOWN_ENUM_VALUES_AS_NULL)
            .build();

    private Dto() {
    }

    static <T> T one(byte[] json, Class<T> type) {
        try {
            return MAPPER.readValue(json, type);
        } catch (IOException e) {
            throw new IllegalStateException("swprof: cannot map the core's answer to " + type.getSimpleName() + ": "
                    + e.getMessage(), e);
        }
    }

    static <T> List<T> list(byte[] json, Class<T> type) {
        JavaType t = MAPPER.getTypeFactory().constructCollectionType(List.class, type);
        try {
            List<T> l = MAPPER.readValue(json, t);
            return l == null ? List.of() : l;
        } catch (IOException e) {
            throw new IllegalStateException("swprof: cannot map the core's answer to a list of "
                    + type.getSimpleName() + ": " + e.getMessage(), e);
        }
    }
}
